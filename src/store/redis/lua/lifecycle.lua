-- A session's deadlines, listing, archiving and deletion.

-- Puts the session in the deadline index, or takes it out when archived or pinned; returns the deadline
-- it was given, for the session's field `due` (the caller writes it).
local function schedule(id, seen, arch, pin, idle, default_idle)
  if arch == '1' or pin == '1' then
    redis.call('ZREM', kp .. 'idle', id)
    return nil
  end
  local deadline = int(seen + (tonumber(idle) or default_idle))
  redis.call('ZADD', kp .. 'idle', deadline, id)
  return deadline
end

-- An access: lastAccessed moves forward, and the idle deadline with it; `writes` go in the same HSET.
-- The deadline index may hold a session's deadline early, since the reaper checks the true one (seen +
-- idle) before it expires anything: the index moves only once the true deadline has passed the indexed
-- one by a sixteenth of the idle age (at most a second), or when `reschedule` says the policy changed.
-- Most accesses of a busy session then write one field and nothing else.
local function access(S, now, default_idle, writes, reschedule)
  writes = writes or {}
  if now > S.seen then
    S.seen = now
    writes[#writes + 1] = 'seen'
    writes[#writes + 1] = int(now)
    if S.arch ~= '1' and S.pin ~= '1' then
      local idle = tonumber(S.idle) or default_idle
      local deadline = now + idle
      if not S.due or S.due > deadline or deadline - S.due >= math.min(1000, math.floor(idle / 16)) then reschedule = true end
    end
  end
  if reschedule then
    local due = schedule(S.id, S.seen, S.arch, S.pin, S.idle, default_idle)
    if due then
      S.due = tonumber(due)
      writes[#writes + 1] = 'due'
      writes[#writes + 1] = due
    end
  end
  if #writes > 0 then redis.call('HSET', S.hash, unpack(writes)) end
end

-- Listing order: creation time * 1024, bumped past the bucket's newest so scores never tie in a bucket.
local function creation_score(now)
  local score = now * 1024
  for _, index in ipairs({'live', 'arch'}) do
    local top = redis.call('ZREVRANGE', kp .. index, 0, 0, 'WITHSCORES')
    if top[2] and tonumber(top[2]) >= score then score = tonumber(top[2]) + 1 end
  end
  return score
end

-- Deletes the session; its history segment stays while forks still read it (collect).
local function delete_session(S)
  local id, head = S.id, S.head
  if S.arch == '1' then redis.call('ZREM', kp .. 'arch', id) else redis.call('ZREM', kp .. 'live', id) end
  redis.call('ZREM', kp .. 'idle', id)
  redis.call('ZREM', kp .. 'born', id)
  redis.call('DEL', key('s', id))
  head.owned = false
  if redis.call('EXISTS', key('c', id)) == 1 then
    redis.call('HSET', key('g', id), 'b', head.base, 'o', head.off)
    if head.parent then redis.call('HSET', key('g', id), 'p', head.parent) end
  end
  collect(head)
end

-- Moves the session between the listing indexes; a change of a field a record shows.
local function set_archived(S, archived)
  S.arch = archived
  S.rev = S.rev + 1
  S.ve = next_version(S.ve)
  redis.call('HSET', S.hash, 'arch', archived, 'rev', S.rev, 've', S.ve)
  local score = redis.call('HGET', S.hash, 'score')
  if archived == '1' then
    redis.call('ZREM', kp .. 'live', S.id)
    redis.call('ZADD', kp .. 'arch', score, S.id)
  else
    redis.call('ZREM', kp .. 'arch', S.id)
    redis.call('ZADD', kp .. 'live', score, S.id)
  end
end
