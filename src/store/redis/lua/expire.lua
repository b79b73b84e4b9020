-- expire: now, defaultIdle, createdBefore? (the lifetime cap's bound), limit, onExpire, stream length
-- → a list of {id, created, seen, n, action, phase (0 lifetime, 1 idle), order}. Lifetime first, oldest
-- first; then idle, earliest deadline first. Each expiry is also appended to the bucket's stream. A
-- session the deadline index holds early (see access) is only moved to its true deadline.
local now, default_idle, created_before, limit, on_expire, maxlen = numarg(), numarg(), optarg(), numarg(), arg(), arg()
local out = {}
local function expire(id, action, phase, order, S)
  S = S or load(id)
  local created = redis.call('HGET', key('s', id), 'created')
  out[#out + 1] = {id, created, int(S.seen), S.n, action, phase, order}
  redis.call('XADD', kp .. 'events', 'MAXLEN', '~', maxlen, '*', 'id', id, 'created', created, 'seen', int(S.seen), 'at', int(now), 'n', S.n, 'action', action)
  if action == 'archive' then
    set_archived(S, '1')
    redis.call('ZREM', kp .. 'idle', id)
    if watched(S) then report_change(S, 'expired', 'action', action) end
  else
    if watched(S) then report_change(S, 'expired', 'action', action) end
    delete_session(S)
  end
end
if created_before then
  -- Oldest first from the listing indexes and born, where a restored session (listed as created when it
  -- was restored) is found by its createdAt: it may be in both, and is expired once.
  local bound = int(tonumber(created_before) * 1024 + 1023)
  local due, done = {}, {}
  for _, index in ipairs({'live', 'arch', 'born'}) do
    local entries = redis.call('ZRANGEBYSCORE', kp .. index, '-inf', bound, 'WITHSCORES', 'LIMIT', 0, limit)
    for j = 1, #entries, 2 do due[#due + 1] = {entries[j], tonumber(entries[j + 1])} end
  end
  table.sort(due, function(a, b) return a[2] < b[2] end)
  for _, d in ipairs(due) do
    if #out >= limit then break end
    if not done[d[1]] then
      done[d[1]] = true
      expire(d[1], 'delete', 0, int(d[2]))
    end
  end
end
while #out < limit do
  local due = redis.call('ZRANGEBYSCORE', kp .. 'idle', '-inf', int(now), 'LIMIT', 0, limit - #out)
  if #due == 0 then break end
  for _, id in ipairs(due) do
    local S = load(id)
    local deadline = S.seen + (tonumber(S.idle) or default_idle)
    if deadline <= now then
      expire(id, on_expire, 1, int(deadline), S)
    else
      redis.call('ZADD', kp .. 'idle', int(deadline), id)
      redis.call('HSET', key('s', id), 'due', int(deadline))
    end
  end
end
return out
