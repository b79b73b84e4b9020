-- get: id, known, held (the revision at which the caller read this window's messages, or ''), now,
-- defaultIdle, offset, limit (-1: all), afterMessageId?
-- → seen alone when the caller's copy of the record and of the window are both still right (the
--   session is unchanged but for its last access)
--   | {OK, rev, seen, n, record or nil when the caller's copy is still right, chunks of messages}
--   | {MISSING} | {REDIRECT, bucket} | {NO_MESSAGE}
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
