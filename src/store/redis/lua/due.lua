-- due: now, createdBefore? → how many expiries are due (an upper bound: a session may be due twice).
local now, created_before = numarg(), optarg()
local due = redis.call('ZCOUNT', kp .. 'idle', '-inf', int(now))
if created_before then
  local bound = int(tonumber(created_before) * 1024 + 1023)
  due = due + redis.call('ZCOUNT', kp .. 'live', '-inf', bound) + redis.call('ZCOUNT', kp .. 'arch', '-inf', bound)
    + redis.call('ZCOUNT', kp .. 'born', '-inf', bound)
end
return due
