-- title: id, title → {OK, record} | {MISSING} | {REDIRECT, bucket}. Not an access: the idle deadline
-- stays. A new title is a change of a field a record shows, so the revision and the version move
-- with it; the same title again changes nothing.
local id = arg()
local hash = key('s', id)
local v = redis.call('HMGET', hash, 'rev', 'title', 've')
if not v[1] then return absent(id) end
local title = arg()
if v[2] ~= title then
  redis.call('HSET', hash, 'title', title, 'rev', int(tonumber(v[1]) + 1), 've', next_version(v[3]))
end
return {OK, record(id)}
