-- subscribe: id, ttl, afterMessageId? → {OK, record, stream position, chunks of the messages after
-- afterMessageId} | {MISSING} | {REDIRECT, bucket} | {NO_MESSAGE}. Not an access. Watches the session for
-- ttl ms (feed.lua); every change after this snapshot has an entry past the stream position.
local id = arg()
local S = load(id)
if not S then return absent(id) end
local ttl, after = numarg(), optarg()
local chunks = {}
if after then
  local ch = chain(S)
  local at = find_one(ch, S.st, S.st + S.n, after)
  if not at or at < 0 then return {NO_MESSAGE} end
  chunks = slice(ch, S.st, S.st + S.n, at + 1, -1)
end
watch(S, ttl)
return {OK, record(id), stream_position(), chunks}
