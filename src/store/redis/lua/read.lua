-- read: id, from, count → {OK, chunks of messages} | {MISSING} | {REDIRECT, bucket}. Not an access.
local id = arg()
local S = load(id)
if not S then return absent(id) end
local from, count = numarg(), numarg()
return {OK, slice(chain(S), S.st, S.st + S.n, from, count)}
