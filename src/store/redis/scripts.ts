/**
 * The Redis store's Lua: every operation is a function of one script, `batch`, which runs a sequence
 * of operations on one bucket in order, atomically. ScriptBatcher (batcher.ts) gathers the operations a
 * sidecar starts in one event-loop turn into calls of up to 64 per bucket: pipelined requests then
 * cost one script call per batch, not one per request, in the client and on Redis's one thread alike.
 *
 * The script runs inside one bucket: KEYS[1] is a key of it, ARGV[1] its key prefix, and every other
 * key it touches is built from that prefix, all in the same slot (the key layout: redis-keys.ts).
 * ARGV[2] is the batch's arguments packed as one MessagePack array of strings and numbers: the
 * number of operations, then each operation's name, argument count and arguments. Bytes (long
 * messages) travel unpacked as ARGV[3] on, each named in the array by a one-element array holding
 * its ARGV index: Redis's cmsgpack reads no MessagePack bin. (One packed argument instead of
 * hundreds halves the cost of a call, in the sidecar and in Redis alike; numbers as MessagePack
 * numbers reach Lua as numbers, with no string to make and intern on either side.) Times are Redis
 * server clock milliseconds (the caller converts). An operation reads its arguments in order with
 * arg(), numbers with numarg(); an optional value travels as a flag and a value, as text. Each
 * operation's reply starts with a status (STATUS below).
 */
export const STATUS = {
  ok: 0,
  missing: 1,
  /** Not here, but an alias here says which bucket holds it (reply[1]). */
  redirect: 2,
  /** reply[1]: the stored revision. */
  conflict: 3,
  /** reply[1]: maxContextMessages. */
  contextFull: 4,
  /** reply[1]: the session's cwd. */
  cwdMismatch: 5,
  noMessage: 6,
  idTaken: 7,
} as const;

/**
 * The session fields a full record carries, in this order (RedisStore.record in redis.ts reads them).
 * The last, ve (the version), tells a sidecar whether its copy is still right: "<changes>:<score>:<nonce>",
 * where changes counts changes to the fields a record shows other than the revision, last access and
 * count, and the listing score and a random nonce the creating sidecar chose tell one creation of a
 * session id from a later one. Kept whole, it is compared as it is read.
 */
export const RECORD_FIELDS = [
  "cwd",
  "title",
  "caps",
  "mcp",
  "dirs",
  "created",
  "seen",
  "n",
  "rev",
  "arch",
  "idle",
  "pin",
  "parent",
  "forked",
  "ve",
];

/**
 * Helpers, each defined before its first use.
 *
 * History: a session reads absolute positions [st, st + n) through a chain of segments, its own
 * first. Segment s holds positions [s.base + s.off, ...) itself and reads those below s.base from its
 * parent. While its session lives, a segment's parent, base and offset are fields of the session hash
 * (gp, gb, go); once the session is gone and forks still read the segment, they move to its own hash.
 * Mirrors memory-history.ts.
 */
const HELPERS: string[] = [
  `local function key(kind, id) return kp .. kind .. ':' .. id end`,
  // Written once into each session hash and id index: a value longer than hash-max-listpack-value (64
  // bytes by default) makes Redis keep the hash as a hash table. Each access reads and writes many of a
  // session's fields and each append looks up ids that are not there yet; in a listpack every one of
  // those is a linear scan (measured: a fifth of an append's time in Redis). Never read.
  `local WIDE = string.rep('.', 65)`,
  // Lua turns numbers into strings with 14 significant digits (too few for a score); Redis turns those
  // handed to redis.call into exact text, but through the floating-point printf. Times, scores and the
  // append path's counts go through this. '%d' takes half the time of '%.0f' here, but formats a C
  // long, which is 32 bits on some servers: there, '%.0f' it is.
  `local int
if string.format('%d', 2^40) == '1099511627776' then
  int = function(x) return string.format('%d', x) end
else
  int = function(x) return string.format('%.0f', x) end
end`,
  `local A = cmsgpack.unpack(ARGV[2])
local argi = 0
local function arg()
  argi = argi + 1
  local value = A[argi]
  if type(value) == 'table' then return ARGV[value[1]] end
  return value
end`,
  `local function numarg() return tonumber(arg()) end`,
  `local function optarg() local present = arg(); local value = arg(); if present == '1' then return value end return nil end`,
  `local function absent(id)
  local bucket = redis.call('GET', key('a', id))
  if bucket then return {REDIRECT, bucket} end
  return {MISSING}
end`,
  // What a caller's copy of the record is compared with (ve: see RECORD_FIELDS), after its fields changed.
  `local function next_version(ve)
  local changes, creation = string.match(ve, '^(%d+)(:.*)$')
  return (changes + 1) .. creation
end`,
  `local function record(id) return redis.call('HMGET', key('s', id), ${RECORD_FIELDS.map((f) => `'${f}'`).join(", ")}) end`,
  // A session's hot fields, and the keys of its hash, index, messages and roles: made once per load, they
  // serve every append to it in the batch.
  `local function load(id)
  local hash = key('s', id)
  local v = redis.call('HMGET', hash, 'rev', 'seen', 'arch', 'pin', 'idle', 'st', 'n', 'gp', 'gb', 'go', 've', 'due')
  if not v[1] then return nil end
  return {id = id, hash = hash, index = key('i', id), messages = key('m', id), roles = key('d', id),
    rev = tonumber(v[1]), seen = tonumber(v[2]), arch = v[3], pin = v[4], idle = v[5] or nil,
    st = tonumber(v[6]), n = tonumber(v[7]), ve = v[11], due = tonumber(v[12]),
    head = {id = id, parent = v[8] or nil, base = tonumber(v[9]), off = tonumber(v[10]), owned = true}}
end`,
  `local function hmget(k, fields)
  local out = {}
  for a = 1, #fields, 1000 do
    local part = redis.call('HMGET', k, unpack(fields, a, math.min(#fields, a + 999)))
    for j = 1, #part do out[a + j - 1] = part[j] end
  end
  return out
end`,
  `local function segment(id)
  local v = redis.call('HMGET', key('s', id), 'gp', 'gb', 'go')
  if v[2] then return {id = id, parent = v[1] or nil, base = tonumber(v[2]), off = tonumber(v[3]), owned = true} end
  v = redis.call('HMGET', key('g', id), 'p', 'b', 'o')
  return {id = id, parent = v[1] or nil, base = tonumber(v[2]) or 0, off = tonumber(v[3]) or 0, owned = false}
end`,
  `local function chain(S)
  local out = {S.head}
  local sid = S.head.parent
  while sid do
    local s = segment(sid)
    out[#out + 1] = s
    sid = s.parent
  end
  return out
end`,
  // The visible index of one id: >= 0, -1 when trimmed away, nil when the session never had it. Each
  // segment's index answers for positions below the limit its child left (a fork reads its parent only
  // below its own base). An HGET, which Redis hands Lua at a third of the cost of a one-field HMGET.
  `local function find_one(ch, start, stop, id)
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
end`,
  // find_one for many ids at once: one HMGET per segment for those not found nearer the head.
  `local function find(ch, start, stop, ids)
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
end`,
  // Messages at visible indexes [from, from + count) (count < 0: to the end), as chunks, oldest first.
  `local function slice(ch, start, stop, from, count)
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
end`,
  `local function entry_at(ch, p)
  for k = 1, #ch do
    local s = ch[k]
    if p >= s.base then return redis.call('LINDEX', key('d', s.id), p - s.base - s.off) end
  end
end`,
  // The first position in [p, stop) holding a user message, or nil. Reads one entry, then twice as many
  // each time, up to 256: the next turn usually starts within a few messages, and every entry read
  // becomes a Lua string.
  `local function next_user(ch, p, stop)
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
        if string.byte(roles[j], 1) == 117 then return from + j - 1 end
      end
      from = to
    end
  end
  return nil
end`,
  // Forgets the ids of a segment's list entries [lo, hi], unless a later append took the id over.
  `local function forget(s, lo, hi)
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
end`,
  // Keeps positions [from, to) of the segment's own messages and frees the rest.
  `local function keep(s, from, to)
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
end`,
  // A segment whose session is gone frees what no fork reads, and itself once no fork reads it at all.
  `local function collect(s)
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
end`,
  // The session now starts at \`start\`: frees what nothing reads any more.
  `local function drop_oldest(ch, start, stop)
  local head = ch[1]
  if head.parent and start >= head.base then
    local parent = head.parent
    head.parent = nil
    redis.call('ZREM', key('c', parent), head.id)
    redis.call('HDEL', key('s', head.id), 'gp')
    collect(segment(parent))
  end
  if redis.call('EXISTS', key('c', head.id)) == 0 then keep(head, start, stop) end
end`,
  // Indexes a message id at the session's next position unless the session shows it already (a retry):
  // true when it did. Without a parent segment HSETNX both looks and writes, one call for the common
  // append's two: only an id already in the index (a retry, or one trimmed away) needs find_one.
  `local function claim(S, id)
  local stop = S.st + S.n
  if not S.head.parent and redis.call('HSETNX', S.index, id, int(stop)) == 1 then return true end
  local at = find_one(chain(S), S.st, stop, id)
  if at and at >= 0 then return false end
  redis.call('HSET', S.index, id, int(stop))
  return true
end`,
  // One message at the end of the session's own segment, its id indexed already (claim); as append's.
  `local function append_one(S, id, role, json)
  local length = redis.call('RPUSH', S.messages, json)
  redis.call('RPUSH', S.roles, role .. id)
  if length == 1 then redis.call('HSET', S.index, '', WIDE) end
end`,
  `local function append(sid, stop, ids, roles, jsons, from)
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
end`,
  // Puts the session in the deadline index, or takes it out when archived or pinned; returns the deadline
  // it was given, for the session's field \`due\` (the caller writes it).
  `local function schedule(id, seen, arch, pin, idle, default_idle)
  if arch == '1' or pin == '1' then
    redis.call('ZREM', kp .. 'idle', id)
    return nil
  end
  local deadline = int(seen + (tonumber(idle) or default_idle))
  redis.call('ZADD', kp .. 'idle', deadline, id)
  return deadline
end`,
  // An access: lastAccessed moves forward, and the idle deadline with it; \`writes\` go in the same HSET.
  // The deadline index may hold a session's deadline early, since the reaper checks the true one (seen +
  // idle) before it expires anything: the index moves only once the true deadline has passed the indexed
  // one by a sixteenth of the idle age (at most a second), or when \`reschedule\` says the policy changed.
  // Most accesses of a busy session then write one field and nothing else.
  `local function access(S, now, default_idle, writes, reschedule)
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
end`,
  // Listing order: creation time * 1024, bumped past the bucket's newest so scores never tie in a bucket.
  `local function creation_score(now)
  local score = now * 1024
  for _, index in ipairs({'live', 'arch'}) do
    local top = redis.call('ZREVRANGE', kp .. index, 0, 0, 'WITHSCORES')
    if top[2] and tonumber(top[2]) >= score then score = tonumber(top[2]) + 1 end
  end
  return score
end`,
  `local function delete_session(S)
  local id, head = S.id, S.head
  if S.arch == '1' then redis.call('ZREM', kp .. 'arch', id) else redis.call('ZREM', kp .. 'live', id) end
  redis.call('ZREM', kp .. 'idle', id)
  redis.call('DEL', key('s', id))
  head.owned = false
  if redis.call('EXISTS', key('c', id)) == 1 then
    redis.call('HSET', key('g', id), 'b', head.base, 'o', head.off)
    if head.parent then redis.call('HSET', key('g', id), 'p', head.parent) end
  end
  collect(head)
end`,
  `local function set_archived(S, archived)
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
end`,
  // Sessions as the common append (below) left them, each just as load() would read it now (it changes
  // only rev, n, seen and due, and sets them as it writes them): while only such appends run, a later
  // update of the same session in this batch starts from here instead of reading the session again.
  // Pipelined appends to a busy session meet several times in one batch.
  `local loaded, keep_loaded = {}, false`,
  // The update and append operations (see them below): append's arguments are update's without the
  // expected revision, cwd and changes.
  `local function update(with_changes)
  local id, known, now, default_idle, max_context, trim = arg(), arg(), numarg(), numarg(), numarg(), arg() == '1'
  local expected, cwd, given = nil, nil, ''
  if with_changes then expected, cwd, given = numarg(), optarg(), arg() end
  local S = loaded[id] or load(id)
  if not S then return absent(id) end
  if cwd then
    local stored = redis.call('HGET', S.hash, 'cwd')
    if cwd ~= stored then return {CWD_MISMATCH, stored} end
  end
  -- The common append: one message, no field changed, room left and the caller's copy of the record right.
  -- It ends as the rest of this operation would, with the one-message lookup and writes and without the
  -- tables the rest builds for the general case (paired runs, timed alone: 19–33% less script
  -- time per append).
  if given == '' and (max_context < 0 or S.n < max_context) and (not expected or expected == S.rev) and known == S.ve then
    local first = argi
    if numarg() == 1 then
      local message_id, role, json = arg(), arg(), arg()
      local fresh = claim(S, message_id)
      if fresh then
        append_one(S, message_id, role, json)
        S.rev, S.n = S.rev + 1, S.n + 1
      end
      access(S, now, default_idle, fresh and {'n', int(S.n), 'rev', int(S.rev)} or nil)
      loaded[id], keep_loaded = S, true
      return {OK, S.rev, S.seen, S.n, false, fresh and 1 or 0, 0}
    end
    argi = first
  end
  local writes, dels, policy_changed = {}, {}, false
  local function set(field, value) writes[#writes + 1] = field; writes[#writes + 1] = value end
  if given ~= '' then
    local s = redis.call('HMGET', S.hash, 'title', 'caps', 'mcp', 'dirs')
    if string.find(given, 't', 1, true) then
      local title = optarg()
      if (title or false) ~= s[1] then
        if title then set('title', title) else dels[#dels + 1] = 'title' end
      end
    end
    for j, field in ipairs({'caps', 'mcp', 'dirs'}) do
      if string.find(given, string.sub('cmd', j, j), 1, true) then
        local value = arg()
        if value ~= s[1 + j] then set(field, value) end
      end
    end
    if string.find(given, 'r', 1, true) then
      local idle, pin = optarg(), arg()
      if idle ~= S.idle or pin ~= S.pin then
        if idle then set('idle', idle) else dels[#dels + 1] = 'idle' end
        set('pin', pin)
        S.idle, S.pin = idle, pin
        policy_changed = true
      end
    end
  end
  local same_fields = #writes == 0 and #dels == 0
  local count = numarg()
  local ids, roles, jsons = {}, {}, {}
  for j = 1, count do ids[j], roles[j], jsons[j] = arg(), arg(), arg() end
  local st, n = S.st, S.n

  local fresh_ids, fresh_roles, fresh_jsons = {}, {}, {}
  local ch
  if count > 0 then
    ch = chain(S)
    local found = find(ch, st, st + n, ids)
    for j = 1, count do
      local at = found[ids[j]]
      if not at or at < 0 then
        fresh_ids[#fresh_ids + 1], fresh_roles[#fresh_roles + 1], fresh_jsons[#fresh_jsons + 1] = ids[j], roles[j], jsons[j]
      end
    end
  end
  local fresh = #fresh_ids
  local changing = fresh > 0 or not same_fields
  if changing and expected and expected ~= S.rev then return {CONFLICT, S.rev} end

  -- Over maxContextMessages: refuse, or drop the oldest whole turns (a turn starts at a user message).
  local drop, from = 0, 1
  if max_context >= 0 and fresh > 0 and n + fresh > max_context then
    if not trim then return {CONTEXT_FULL, max_context} end
    local total = n + fresh
    local cut = math.max(total - max_context, 1)
    local found
    if cut < n then
      local p = next_user(ch, st + cut, st + n)
      if p then found = p - st end
    end
    if not found then
      for j = math.max(cut, n), total - 1 do
        if fresh_roles[j - n + 1] == 'u' then found = j; break end
      end
    end
    if not found then return {CONTEXT_FULL, max_context} end
    drop = found
    if drop > n then from = drop - n + 1 end
  end

  if not same_fields then S.ve = next_version(S.ve); set('ve', S.ve) end
  local copy_right = same_fields and known == S.ve
  if #dels > 0 then redis.call('HDEL', S.hash, unpack(dels)) end
  if drop > 0 then
    local d = math.min(drop, n)
    drop_oldest(ch, st + d, st + n)
    st, n = st + d, n - d
  end
  if from <= fresh then
    append(id, st + n, fresh_ids, fresh_roles, fresh_jsons, from)
    n = n + fresh - from + 1
  end
  if drop > 0 or from <= fresh then set('n', int(n)); set('st', int(st)) end
  if changing then S.rev = S.rev + 1; set('rev', int(S.rev)) end
  S.n = n
  access(S, now, default_idle, writes, policy_changed)
  local full = false
  if not copy_right then full = record(id) end
  return {OK, S.rev, S.seen, S.n, full, fresh, drop}
end`,
];

const PRELUDE = `local kp = ARGV[1]
local OK, MISSING, REDIRECT, CONFLICT, CONTEXT_FULL, CWD_MISMATCH, NO_MESSAGE, ID_TAKEN = ${Object.values(STATUS).join(", ")}
`;

const BODIES = {
  /** id, now, defaultIdle, cwd, title?, caps, mcp, dirs, maxIdle?, pinned, nonce → [OK, record] | [ID_TAKEN] */
  create: `
local id = arg()
if redis.call('EXISTS', key('s', id), key('g', id), key('a', id)) > 0 then return {ID_TAKEN} end
local now, default_idle = numarg(), numarg()
local cwd, title, caps, mcp, dirs, idle, pin, nonce = arg(), optarg(), arg(), arg(), arg(), optarg(), arg(), arg()
local score = creation_score(now)
local fields = {'cwd', cwd, 'caps', caps, 'mcp', mcp, 'dirs', dirs, 'created', int(now), 'seen', int(now), 'n', 0, 'rev', 1,
  'arch', 0, 'pin', pin, 'st', 0, 'score', int(score), 'gb', 0, 'go', 0, 've', '0:' .. int(score) .. ':' .. nonce, 'wide', WIDE}
if title then fields[#fields + 1] = 'title'; fields[#fields + 1] = title end
if idle then fields[#fields + 1] = 'idle'; fields[#fields + 1] = idle end
local due = schedule(id, now, '0', pin, idle, default_idle)
if due then fields[#fields + 1] = 'due'; fields[#fields + 1] = due end
redis.call('HSET', key('s', id), unpack(fields))
redis.call('ZADD', kp .. 'live', int(score), id)
return {OK, record(id)}
`,

  /**
   * id, known (the version of the caller's copy of the record, or ""), now, defaultIdle, maxContext (-1: none),
   * trim ('1'/'0'), expectedRevision ('' for none), cwd?, the changes (a letter for each field given,
   * in the order "tcmdr", then its value: title?; caps, mcp, dirs as JSON; retention as maxIdle?,
   * pinned), then a count and that many (id, role letter, json) → [OK, rev, seen, n, record or nil
   * when the caller's copy is still right, appended, trimmed] or an error status. Also serves touch
   * (no messages, a cwd to check).
   */
  update: `
return update(true)
`,

  /**
   * An update that only appends, with no revision expected: id, known, now, defaultIdle, maxContext,
   * trim, then a count and that many (id, role letter, json) → as update. Four arguments fewer for the
   * common append.
   */
  append: `
return update(false)
`,

  /**
   * id, known, held (the revision at which the caller read this window's messages, or ""), now,
   * defaultIdle, offset, limit (-1: all), afterMessageId? → seen alone when the caller's copy of the
   * record and of the window are both still right (the session is unchanged but for its last access) |
   * [OK, rev, seen, n, record or nil when the caller's copy is still right, chunks] | [NO_MESSAGE]
   */
  get: `
local id, known, held, now = arg(), arg(), numarg(), numarg()
-- The common read first, on the few fields it needs: the caller's copy of the record and of the window
-- (messages change only with the revision) are still right, and this millisecond's access is recorded.
local v = redis.call('HMGET', key('s', id), 'rev', 'seen', 've')
if not v[1] then return absent(id) end
local rev, seen = tonumber(v[1]), tonumber(v[2])
if held == rev and now <= seen and known == v[3] then return seen end
local S = load(id)
local default_idle, from, limit, after = numarg(), numarg(), numarg(), optarg()
local current = known == S.ve
if current and held == S.rev then
  access(S, now, default_idle)
  return S.seen
end
local ch = chain(S)
if after then
  local at = find_one(ch, S.st, S.st + S.n, after)
  if not at or at < 0 then return {NO_MESSAGE} end
  from = at + 1
end
access(S, now, default_idle)
local full = false
if not current then full = record(id) end
return {OK, S.rev, S.seen, S.n, full, slice(ch, S.st, S.st + S.n, from, limit)}
`,

  /** id, from, count → [OK, chunks]; not an access. */
  read: `
local id = arg()
local S = load(id)
if not S then return absent(id) end
local from, count = numarg(), numarg()
return {OK, slice(chain(S), S.st, S.st + S.n, from, count)}
`,

  /** id → [OK] */
  has: `
local id = arg()
if redis.call('EXISTS', key('s', id)) == 0 then return absent(id) end
return {OK}
`,

  /** id, archived ('1'/'0'), now, defaultIdle → [OK, record]. Archiving is not an access; unarchiving is. */
  archive: `
local id = arg()
local S = load(id)
if not S then return absent(id) end
local archived, now, default_idle = arg(), numarg(), numarg()
if S.arch ~= archived then set_archived(S, archived) end
if archived == '1' then redis.call('ZREM', kp .. 'idle', id) else access(S, now, default_idle, nil, true) end
return {OK, record(id)}
`,

  /** id → [OK] once deleted, with every history segment no fork reads. */
  remove: `
local id = arg()
local S = load(id)
if not S then return absent(id) end
delete_session(S)
return {OK}
`,

  /**
   * parent, id, now, defaultIdle, atMessageId?, cwd, mcp, title (set, value?), nonce → [OK, record] | error.
   * The fork gets a segment of its own whose parent is the one holding its last inherited message.
   */
  fork: `
local parent, id = arg(), arg()
local P = load(parent)
if not P then return absent(parent) end
if redis.call('EXISTS', key('s', id), key('g', id)) > 0 then return {ID_TAKEN} end
local now, default_idle, at = numarg(), numarg(), optarg()
local cwd, mcp, title_set, title, nonce = arg(), arg(), arg() == '1', optarg(), arg()
local p = redis.call('HMGET', key('s', parent), 'title', 'caps', 'dirs')
local st, n = P.st, P.n
local ch = chain(P)
local count, forked = n, nil
if at then
  local index = find_one(ch, st, st + n, at)
  if not index or index < 0 then return {NO_MESSAGE} end
  count, forked = index + 1, at
elseif n > 0 then
  forked = string.sub(entry_at(ch, st + n - 1), 2)
end
local cut = st + count
local base
if count > 0 then
  for k = 1, #ch do
    if cut > ch[k].base then base = ch[k]; break end
  end
end
if not title_set then title = p[1] or nil end
local score = creation_score(now)
local fields = {'cwd', cwd, 'caps', p[2], 'mcp', mcp, 'dirs', p[3], 'created', int(now), 'seen', int(now), 'n', count, 'rev', 1,
  'arch', 0, 'pin', 0, 'st', st, 'score', int(score), 'parent', parent, 'gb', cut, 'go', 0,
  've', '0:' .. int(score) .. ':' .. nonce, 'wide', WIDE}
if base then
  fields[#fields + 1] = 'gp'; fields[#fields + 1] = base.id
  redis.call('ZADD', key('c', base.id), cut, id)
end
if title then fields[#fields + 1] = 'title'; fields[#fields + 1] = title end
if forked then fields[#fields + 1] = 'forked'; fields[#fields + 1] = forked end
fields[#fields + 1] = 'due'; fields[#fields + 1] = schedule(id, now, '0', '0', nil, default_idle)
redis.call('HSET', key('s', id), unpack(fields))
redis.call('ZADD', kp .. 'live', int(score), id)
access(P, now, default_idle)
return {OK, record(id)}
`,

  /**
   * now, defaultIdle, createdBefore? (the lifetime cap's bound), limit, onExpire, stream length → a list
   * of {id, created, seen, n, action, phase (0 lifetime, 1 idle), order}. Lifetime first, oldest first;
   * then idle, earliest deadline first. Each expiry is also appended to the bucket's stream. A session
   * the deadline index holds early (see access) is only moved to its true deadline.
   */
  expire: `
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
  else
    delete_session(S)
  end
end
if created_before then
  local bound = int(tonumber(created_before) * 1024 + 1023)
  local a = redis.call('ZRANGEBYSCORE', kp .. 'live', '-inf', bound, 'WITHSCORES', 'LIMIT', 0, limit)
  local b = redis.call('ZRANGEBYSCORE', kp .. 'arch', '-inf', bound, 'WITHSCORES', 'LIMIT', 0, limit)
  local i, j = 1, 1
  while #out < limit and (i <= #a or j <= #b) do
    if j > #b or (i <= #a and tonumber(a[i + 1]) < tonumber(b[j + 1])) then
      expire(a[i], 'delete', 0, a[i + 1]); i = i + 2
    else
      expire(b[j], 'delete', 0, b[j + 1]); j = j + 2
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
`,

  /** → the bucket's session count, active and archived. */
  count: `
return redis.call('ZCARD', kp .. 'live') + redis.call('ZCARD', kp .. 'arch')
`,

  /** now, createdBefore? → how many expiries are due (an upper bound: a session may be due twice). */
  due: `
local now, created_before = numarg(), optarg()
local due = redis.call('ZCOUNT', kp .. 'idle', '-inf', int(now))
if created_before then
  local bound = int(tonumber(created_before) * 1024 + 1023)
  due = due + redis.call('ZCOUNT', kp .. 'live', '-inf', bound) + redis.call('ZCOUNT', kp .. 'arch', '-inf', bound)
end
return due
`,

  /**
   * index ('live'/'arch'), max score (Redis range syntax), want, budget, cwd? → [exhausted, frontier,
   * then (id, score, record) per match]: newest first from max, scanning at most budget entries and
   * stopping at want matches. frontier is the last score looked at, where the next call resumes.
   */
  list: `
local index, max, want, budget, cwd = arg(), arg(), numarg(), numarg(), optarg()
local entries = redis.call('ZREVRANGEBYSCORE', kp .. index, max, '-inf', 'WITHSCORES', 'LIMIT', 0, budget)
local out = {0, ''}
local matched = 0
for j = 1, #entries, 2 do
  local id = entries[j]
  out[2] = entries[j + 1]
  if not cwd or redis.call('HGET', key('s', id), 'cwd') == cwd then
    out[#out + 1] = id
    out[#out + 1] = entries[j + 1]
    out[#out + 1] = record(id)
    matched = matched + 1
    if matched >= want then return out end
  end
end
if #entries < 2 * budget then out[1] = 1 end
return out
`,
};

export type OperationName = keyof typeof BODIES;
/** A reply as ioredis gives it: nested arrays of Buffers, integers and nulls. */
export type Reply = any;

/** The one script: the helpers, each operation as a function, and the loop that runs a batch of them. */
export const BATCH_SCRIPT = `${PRELUDE}
${HELPERS.join("\n")}
-- Each operation's function is made the first time the batch runs it: the script's top level runs on
-- every call, and making all of them there took about a quarter of a one-operation call.
local operations = {}
local function operation(name)
  local run = operations[name]
  if run then return run end
${Object.entries(BODIES)
  .map(([name, body], i) => `  ${i === 0 ? "if" : "elseif"} name == '${name}' then run = function()${body}end`)
  .join("\n")}
  end
  operations[name] = run
  return run
end
local replies = {}
argi = 1
for j = 1, tonumber(A[1]) do
  local name, size = arg(), numarg()
  -- An operation that answers early leaves arguments unread: the next one starts where it should.
  local next_operation = argi + size
  keep_loaded = false
  replies[j] = operation(name)()
  -- Any other operation may have changed what a loaded session holds.
  if not keep_loaded and next(loaded) then loaded = {} end
  argi = next_operation
end
return replies
`;
