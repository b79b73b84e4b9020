-- truncate: id, known (the version of the caller's copy of the record, or ''), now, defaultIdle, keeps
-- ('1' when the named message stays: afterMessageId), messageId? (absent: before every message),
-- expectedRevision ('' for none)
-- → {OK, rev, seen, n, record or nil when the caller's copy is still right, removed}
--   | {MISSING} | {REDIRECT, bucket} | {NO_MESSAGE} | {CONFLICT, rev}
-- An access. Dropping nothing changes nothing else and checks no revision.
local id, known, now, default_idle = arg(), arg(), numarg(), numarg()
local keeps, at, expected = arg() == '1', optarg(), numarg()
local S = load(id)
if not S then return absent(id) end
local ch = chain(S)
local kept = 0
if at then
  local index = find_one(ch, S.st, S.st + S.n, at)
  if not index or index < 0 then return {NO_MESSAGE} end
  kept = index
  if keeps then kept = index + 1 end
end
local removed = S.n - kept
local writes
if removed > 0 then
  if expected and expected ~= S.rev then return {CONFLICT, S.rev} end
  cut_history(S, ch, S.st + kept)
  S.n, S.rev = kept, S.rev + 1
  writes = {'n', int(S.n), 'rev', int(S.rev)}
end
access(S, now, default_idle, writes)
if removed > 0 and watched(S) then report_change(S, 'truncated', 'removed', removed) end
local full = false
if known ~= S.ve then full = record(id) end
return {OK, S.rev, S.seen, S.n, full, removed}
