-- get: id, known, held (the revision at which the caller read this window's messages, or ''), now,
-- defaultIdle, offset, limit (-1: all), tail (-1: none), afterMessageId?, beforeMessageId?
-- → seen alone when the caller's copy of the record and of the window are both still right (the
--   session is unchanged but for its last access)
--   | {OK, rev, seen, n, record or nil when the caller's copy is still right, chunks of messages, start}
--   | {MISSING} | {REDIRECT, bucket} | {NO_MESSAGE}
-- The window is resolved against the count this same call reads (window.lua), so the two agree.
local id, known, held, now = arg(), arg(), numarg(), numarg()
-- The common read first, on the few fields it needs: the caller's copy of the record and of the window
-- (messages change only with the revision) are still right, and this millisecond's access is recorded.
local v = redis.call('HMGET', key('s', id), 'rev', 'seen', 've')
if not v[1] then return absent(id) end
local rev, seen = tonumber(v[1]), tonumber(v[2])
if held == rev and now <= seen and known == v[3] then return seen end
local S = load(id)
local default_idle, offset, limit, tail, after, before = numarg(), numarg(), numarg(), numarg(), optarg(), optarg()
local current = known == S.ve
if current and held == S.rev then
  access(S, now, default_idle)
  return S.seen
end
local ch = chain(S)
-- The message the window is placed by: before wins, as in window_range.
local named = before or after
local at
if named then
  at = find_one(ch, S.st, S.st + S.n, named)
  if not at or at < 0 then return {NO_MESSAGE} end
end
local from, count
if before then
  from, count = window_range(S.n, offset, limit, tail, nil, at)
else
  from, count = window_range(S.n, offset, limit, tail, at, nil)
end
access(S, now, default_idle)
local full = false
if not current then full = record(id) end
return {OK, S.rev, S.seen, S.n, full, slice(ch, S.st, S.st + S.n, from, count), from}
