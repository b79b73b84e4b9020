-- fork: parent, id, now, defaultIdle, atMessageId?, cwd, mcp (as JSON), title (set '1'/'0', value?),
-- nonce → {OK, record} | {MISSING} | {REDIRECT, bucket} (of the parent) | {ID_TAKEN} | {NO_MESSAGE}
-- The fork gets a segment of its own whose parent is the one holding its last inherited message.
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
local cut, base = fork_point(ch, st, count)
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
