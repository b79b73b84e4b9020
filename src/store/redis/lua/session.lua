-- Finding and reading a session.

-- The reply for an id with no session here: a redirect when an alias says which bucket holds it.
local function absent(id)
  local bucket = redis.call('GET', key('a', id))
  if bucket then return {REDIRECT, bucket} end
  return {MISSING}
end

-- What a caller's copy of the record is compared with (ve: see RECORD_FIELDS), after its fields changed.
local function next_version(ve)
  local changes, creation = string.match(ve, '^(%d+)(:.*)$')
  return (changes + 1) .. creation
end

local function record(id) return redis.call('HMGET', key('s', id), unpack(RECORD_FIELDS)) end

-- A session's hot fields, and the keys of its hash, index, messages and roles: made once per load, they
-- serve every append to it in the batch.
local function load(id)
  local hash = key('s', id)
  local v = redis.call('HMGET', hash, 'rev', 'seen', 'arch', 'pin', 'idle', 'st', 'n', 'gp', 'gb', 'go', 've', 'due', 'wu')
  if not v[1] then return nil end
  return {id = id, hash = hash, index = key('i', id), messages = key('m', id), roles = key('d', id),
    rev = tonumber(v[1]), seen = tonumber(v[2]), arch = v[3], pin = v[4], idle = v[5] or nil,
    st = tonumber(v[6]), n = tonumber(v[7]), ve = v[11], due = tonumber(v[12]), wu = tonumber(v[13]),
    head = {id = id, parent = v[8] or nil, base = tonumber(v[9]), off = tonumber(v[10]), owned = true}}
end
