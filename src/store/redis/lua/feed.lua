-- Live observers (session/subscribe; the reading side is change-feed.ts). A change to a watched session
-- is added to its bucket's change stream by the same script that makes it, so an entry exists exactly
-- when its change does. A session is watched while its field wu (Redis server clock ms) lies ahead:
-- subscribing sidecars keep moving it (subscribe.lua, watch.lua). A session never watched has no wu,
-- and its changes cost one field read here.

-- Entries kept per bucket stream, about: a sidecar that falls further behind hears `lagged`.
local CHANGE_STREAM_LENGTH = 10000

-- The server's own clock: watches hold whatever clock the sidecars hand the operations.
local function server_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Whether changes to S are reported now.
local function watched(S)
  return S.wu ~= nil and S.wu > server_ms()
end

-- Every change subscribers hear of goes through here, once S shows it (its rev and n after the change;
-- for removed and expired, the last it had), and only where watched(S): the type, then what it carries.
-- An append's messages are its stored JSON, one per line (JSON text holds no raw newline).
local function report_change(S, kind, ...)
  redis.call('XADD', kp .. 'changes', 'MAXLEN', '~', CHANGE_STREAM_LENGTH, '*', 'id', S.id, 'rev', int(S.rev), 'n', int(S.n),
    't', kind, ...)
end

-- Keeps S watched for ttl ms more; written only once a third of the last watch has passed.
local function watch(S, ttl)
  local till = server_ms() + ttl
  if not S.wu or S.wu < till - ttl / 3 then
    redis.call('HSET', S.hash, 'wu', int(till))
    S.wu = till
  end
end

-- The id of the bucket stream's newest entry ('0-0' for none): every later change has an entry past it.
local function stream_position()
  local newest = redis.call('XREVRANGE', kp .. 'changes', '+', '-', 'COUNT', 1)
  if newest[1] then return newest[1][1] end
  return '0-0'
end
