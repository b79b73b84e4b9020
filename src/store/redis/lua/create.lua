-- create: id, now, defaultIdle, cwd, title?, caps, mcp, dirs (as JSON), maxIdle?, pinned ('1'/'0'),
-- nonce → {OK, record} | {ID_TAKEN}
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
