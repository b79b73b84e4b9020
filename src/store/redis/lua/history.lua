-- A session's messages. It reads absolute positions [st, st + n) through a chain of segments, its own
-- first. Segment s holds positions [s.base + s.off, ...) itself and reads those below s.base from its
-- parent. While its session lives, a segment's parent, base and offset are fields of the session hash
-- (gp, gb, go); once the session is gone and forks still read the segment, they move to its own hash.
-- Mirrors memory/history.ts.

-- HMGET of any number of fields, in parts small enough for unpack().
local function hmget(k, fields)
  local out = {}
  for a = 1, #fields, 1000 do
    local part = redis.call('HMGET', k, unpack(fields, a, math.min(#fields, a + 999)))
    for j = 1, #part do out[a + j - 1] = part[j] end
  end
  return out
end

local function segment(id)
  local v = redis.call('HMGET', key('s', id), 'gp', 'gb', 'go')
  if v[2] then return {id = id, parent = v[1] or nil, base = tonumber(v[2]), off = tonumber(v[3]), owned = true} end
  v = redis.call('HMGET', key('g', id), 'p', 'b', 'o')
  return {id = id, parent = v[1] or nil, base = tonumber(v[2]) or 0, off = tonumber(v[3]) or 0, owned = false}
end

local function chain(S)
  local out = {S.head}
  local sid = S.head.parent
  while sid do
    local s = segment(sid)
    out[#out + 1] = s
    sid = s.parent
  end
  return out
end

-- The visible index of one id: >= 0, -1 when trimmed away, nil when the session never had it. Each
-- segment's index answers for positions below the limit its child left (a fork reads its parent only
-- below its own base). An HGET, which Redis hands Lua for less than a one-field HMGET.
local function find_one(ch, start, stop, id)
  local limit = stop
  for k = 1, #ch do
    local pos = tonumber(redis.call('HGET', key('i', ch[k].id), id))
    if pos and pos < limit then
      if pos >= start then return pos - start end
      return -1
    end
    limit = ch[k].base
  end
  return nil
end

-- find_one for many ids at once: one HMGET per segment for those not found nearer the head.
local function find(ch, start, stop, ids)
  local found, pending, limit = {}, ids, stop
  for k = 1, #ch do
    if #pending == 0 then break end
    local got = hmget(key('i', ch[k].id), pending)
    local rest = {}
    for j = 1, #pending do
      local pos = tonumber(got[j])
      if pos and pos < limit then
        if pos >= start then found[pending[j]] = pos - start else found[pending[j]] = -1 end
      else
        rest[#rest + 1] = pending[j]
      end
    end
    pending, limit = rest, ch[k].base
  end
  return found
end

-- Messages at visible indexes [from, from + count) (count < 0: to the end), as chunks, oldest first.
local function slice(ch, start, stop, from, count)
  local first, last = start + from, stop
  if count >= 0 and first + count < last then last = first + count end
  local chunks, e = {}, last
  for k = 1, #ch do
    if e <= first then break end
    local s = ch[k]
    local b = math.min(e, math.max(first, s.base))
    if b < e then table.insert(chunks, 1, redis.call('LRANGE', key('m', s.id), b - s.base - s.off, e - 1 - s.base - s.off)) end
    e = b
  end
  return chunks
end

-- Where a session sharing the first `count` of the visible messages of chain ch (starting at st) begins:
-- the absolute position after them, and the segment holding the last of them (nil when count is 0).
local function fork_point(ch, st, count)
  local cut = st + count
  if count > 0 then
    for k = 1, #ch do
      if cut > ch[k].base then return cut, ch[k] end
    end
  end
  return cut, nil
end

-- The d: entry (role letter and message id) at absolute position p.
local function entry_at(ch, p)
  for k = 1, #ch do
    local s = ch[k]
    if p >= s.base then return redis.call('LINDEX', key('d', s.id), p - s.base - s.off) end
  end
end

local USER = string.byte(ROLE.user)

-- The first position in [p, stop) holding a user message, or nil. Reads one entry, then twice as many
-- each time, up to 256: the next turn usually starts within a few messages, and every entry read
-- becomes a Lua string.
local function next_user(ch, p, stop)
  local step = 1
  for k = #ch, 1, -1 do
    local s = ch[k]
    local limit = stop
    if k > 1 then limit = ch[k - 1].base end
    local from = math.max(p, s.base)
    while from < limit do
      local to = math.min(limit, from + step)
      step = math.min(step * 2, 256)
      local roles = redis.call('LRANGE', key('d', s.id), from - s.base - s.off, to - 1 - s.base - s.off)
      for j = 1, #roles do
        if string.byte(roles[j], 1) == USER then return from + j - 1 end
      end
      from = to
    end
  end
  return nil
end

-- Forgets the ids of a segment's list entries [lo, hi], unless a later append took the id over.
local function forget(s, lo, hi)
  for a = lo, hi, 500 do
    local entries = redis.call('LRANGE', key('d', s.id), a, math.min(hi, a + 499))
    local ids = {}
    for j = 1, #entries do ids[j] = string.sub(entries[j], 2) end
    if #ids > 0 then
      local at = redis.call('HMGET', key('i', s.id), unpack(ids))
      local gone = {}
      for j = 1, #ids do
        if tonumber(at[j]) == s.base + s.off + a + j - 1 then gone[#gone + 1] = ids[j] end
      end
      if #gone > 0 then redis.call('HDEL', key('i', s.id), unpack(gone)) end
    end
  end
end

-- Keeps positions [from, to) of the segment's own messages and frees the rest.
local function keep(s, from, to)
  local len = redis.call('LLEN', key('m', s.id))
  local first = math.min(len, math.max(0, from - s.base - s.off))
  local last = math.min(len, math.max(first, to - s.base - s.off))
  if first == 0 and last >= len then return end
  if first >= last then
    redis.call('DEL', key('m', s.id), key('d', s.id), key('i', s.id))
  else
    forget(s, last, len - 1)
    forget(s, 0, first - 1)
    redis.call('LTRIM', key('m', s.id), first, last - 1)
    redis.call('LTRIM', key('d', s.id), first, last - 1)
  end
  if first > 0 then
    s.off = s.off + first
    if s.owned then redis.call('HSET', key('s', s.id), 'go', s.off) else redis.call('HSET', key('g', s.id), 'o', s.off) end
  end
end

-- A segment whose session is gone frees what no fork reads, and itself once no fork reads it at all.
local function collect(s)
  while s and not s.owned do
    local top = redis.call('ZREVRANGE', key('c', s.id), 0, 0, 'WITHSCORES')
    if #top > 0 then
      keep(s, 0, tonumber(top[2]))
      return
    end
    redis.call('DEL', key('g', s.id), key('m', s.id), key('d', s.id), key('i', s.id))
    if not s.parent then return end
    redis.call('ZREM', key('c', s.parent), s.id)
    s = segment(s.parent)
  end
end

-- The session now starts at `start`: frees what nothing reads any more. While forks are based on its
-- segment they may read through it into its parents, so nothing is let go of then (as memory/history.ts).
local function drop_oldest(ch, start, stop)
  local head = ch[1]
  if redis.call('EXISTS', key('c', head.id)) == 1 then return end
  if head.parent and start >= head.base then
    local parent = head.parent
    head.parent = nil
    redis.call('ZREM', key('c', parent), head.id)
    redis.call('HDEL', key('s', head.id), 'gp')
    collect(segment(parent))
  end
  keep(head, start, stop)
end

-- The session (its chain ch) keeps positions [st, cut) and frees the rest. Its own segment's tail goes in
-- place when no fork reads it. Otherwise that segment takes a name of its own (RENAME, O(1) a key) and is
-- collected like a removed session's, kept as far as forks read it, and the session starts a new segment
-- under its own name at the cut, as if it had forked itself there: a session's segment is always named
-- after it.
local function cut_history(S, ch, cut)
  local head = S.head
  local top = redis.call('ZREVRANGE', key('c', head.id), 0, 0, 'WITHSCORES')
  if cut >= head.base and (#top == 0 or tonumber(top[2]) <= cut) then
    keep(head, head.base + head.off, cut)
    return
  end
  local base
  if cut > S.st then
    for k = 1, #ch do
      if cut > ch[k].base then base = ch[k]; break end
    end
  end
  -- '#' never appears in a session id the sidecar makes; the loop covers an id created again.
  local name = head.id .. '#' .. int(S.rev)
  while redis.call('EXISTS', key('s', name), key('g', name), key('m', name), key('c', name)) > 0 do name = name .. '#' end
  for _, kind in ipairs({'m', 'd', 'i', 'c'}) do
    if redis.call('EXISTS', key(kind, head.id)) == 1 then redis.call('RENAME', key(kind, head.id), key(kind, name)) end
  end
  local old = {id = name, parent = head.parent, base = head.base, off = head.off, owned = false}
  redis.call('HSET', key('g', name), 'b', int(old.base), 'o', int(old.off))
  if old.parent then
    redis.call('HSET', key('g', name), 'p', old.parent)
    redis.call('ZREM', key('c', old.parent), head.id)
    redis.call('ZADD', key('c', old.parent), int(old.base), name)
  end
  for _, child in ipairs(redis.call('ZRANGE', key('c', name), 0, -1)) do
    if redis.call('HEXISTS', key('s', child), 'gb') == 1 then
      redis.call('HSET', key('s', child), 'gp', name)
    else
      redis.call('HSET', key('g', child), 'p', name)
    end
  end
  if base == head then base = old end
  head.parent, head.base, head.off = base and base.id or nil, cut, 0
  if base then
    redis.call('HSET', S.hash, 'gp', base.id, 'gb', int(cut), 'go', 0)
    redis.call('ZADD', key('c', base.id), int(cut), head.id)
  else
    redis.call('HSET', S.hash, 'gb', int(cut), 'go', 0)
    redis.call('HDEL', S.hash, 'gp')
  end
  collect(old)
end

-- Indexes a message id at the session's next position unless the session shows it already (a retry):
-- true when it did. Without a parent segment HSETNX both looks and writes, one call for the common
-- append's two: only an id already in the index (a retry, or one trimmed away) needs find_one.
local function claim(S, id)
  local stop = S.st + S.n
  if not S.head.parent and redis.call('HSETNX', S.index, id, int(stop)) == 1 then return true end
  local at = find_one(chain(S), S.st, stop, id)
  if at and at >= 0 then return false end
  redis.call('HSET', S.index, id, int(stop))
  return true
end

-- One message at the end of the session's own segment, its id indexed already (claim); as append's.
local function append_one(S, id, role, json)
  local length = redis.call('RPUSH', S.messages, json)
  redis.call('RPUSH', S.roles, role .. id)
  if length == 1 then redis.call('HSET', S.index, '', WIDE) end
end

-- Messages at the end of segment sid, from the from-th of the lists given on, the first at position stop.
local function append(sid, stop, ids, roles, jsons, from)
  for a = from, #ids, 1000 do
    local m, d, i = {}, {}, {}
    for j = a, math.min(#ids, a + 999) do
      m[#m + 1] = jsons[j]
      d[#d + 1] = roles[j] .. ids[j]
      i[#i + 1] = ids[j]
      i[#i + 1] = int(stop + j - from)
    end
    local length = redis.call('RPUSH', key('m', sid), unpack(m))
    redis.call('RPUSH', key('d', sid), unpack(d))
    -- A new list: a new index too, which gets its wide entry under '' (never a message id).
    if length == #m then i[#i + 1] = ''; i[#i + 1] = WIDE end
    redis.call('HSET', key('i', sid), unpack(i))
  end
end
