-- restore: id, now, created, seen, defaultIdle, cwd, title?, caps, mcp, dirs (as JSON), maxIdle?, pinned,
-- archived ('1'/'0'), parent?, forked?, source? (the session whose history it shares), at (the last
-- message shared; '' without a source), nonce
-- → {OK, record} | {ID_TAKEN} | {MISSING} | {REDIRECT, bucket} (of the source) | {NO_MESSAGE}
-- A session as an export holds it: as create makes one, or as fork does when it shares a history, but
-- with the times, archive state and origin given. Listed as created now; born keeps it by its createdAt
-- for the lifetime cap. Not an access to the source.
local id, now, created, seen, default_idle = arg(), numarg(), numarg(), numarg(), numarg()
local cwd, title, caps, mcp, dirs, idle, pin, arch = arg(), optarg(), arg(), arg(), arg(), optarg(), arg(), arg()
local parent, forked, source, at, nonce = optarg(), optarg(), optarg(), arg(), arg()
local S
if source then
  S = load(source)
  if not S then return absent(source) end
end
if redis.call('EXISTS', key('s', id), key('g', id), key('a', id)) > 0 then return {ID_TAKEN} end
local st, count, cut, base = 0, 0, 0, nil
if S then
  local ch = chain(S)
  local index = find_one(ch, S.st, S.st + S.n, at)
  if not index or index < 0 then return {NO_MESSAGE} end
  st, count = S.st, index + 1
  cut, base = fork_point(ch, st, count)
end
local score = creation_score(now)
local fields = {'cwd', cwd, 'caps', caps, 'mcp', mcp, 'dirs', dirs, 'created', int(created), 'seen', int(seen), 'n', count,
  'rev', 1, 'arch', arch, 'pin', pin, 'st', st, 'score', int(score), 'gb', cut, 'go', 0,
  've', '0:' .. int(score) .. ':' .. nonce, 'wide', WIDE}
if base then
  fields[#fields + 1] = 'gp'; fields[#fields + 1] = base.id
  redis.call('ZADD', key('c', base.id), cut, id)
end
if title then fields[#fields + 1] = 'title'; fields[#fields + 1] = title end
if idle then fields[#fields + 1] = 'idle'; fields[#fields + 1] = idle end
if parent then fields[#fields + 1] = 'parent'; fields[#fields + 1] = parent end
if forked then fields[#fields + 1] = 'forked'; fields[#fields + 1] = forked end
local due = schedule(id, seen, arch, pin, idle, default_idle)
if due then fields[#fields + 1] = 'due'; fields[#fields + 1] = due end
redis.call('HSET', key('s', id), unpack(fields))
if arch == '1' then redis.call('ZADD', kp .. 'arch', int(score), id) else redis.call('ZADD', kp .. 'live', int(score), id) end
redis.call('ZADD', kp .. 'born', int(created * 1024), id)
return {OK, record(id)}
