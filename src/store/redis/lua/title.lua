-- title: id, title → {OK, record} | {MISSING} | {REDIRECT, bucket}. Not an access: the idle deadline
-- stays. A new title is a change of a field a record shows, so the revision and the version move
-- with it; the same title again changes nothing.
local id = arg()
local S = load(id)
if not S then return absent(id) end
local title = arg()
if redis.call('HGET', S.hash, 'title') ~= title then
  S.rev = S.rev + 1
  redis.call('HSET', S.hash, 'title', title, 'rev', int(S.rev), 've', next_version(S.ve))
  if watched(S) then report_change(S, 'updated', 'r', cmsgpack.pack(record(id))) end
end
return {OK, record(id)}
