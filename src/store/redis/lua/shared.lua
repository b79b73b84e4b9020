-- Values the TypeScript side (operations.ts) holds too: it reads replies and sends arguments by them.
-- test/store/redis/lua.test.ts evaluates this file and compares the two.

-- Each operation's reply starts with one of these.
local STATUS = {
  ok = 0,
  missing = 1,
  -- Not here, but an alias here says which bucket holds it (the reply's second element).
  redirect = 2,
  -- Then the stored revision.
  conflict = 3,
  -- Then maxContextMessages.
  contextFull = 4,
  -- Then the session's cwd.
  cwdMismatch = 5,
  noMessage = 6,
  idTaken = 7,
}
local OK, MISSING, REDIRECT, CONFLICT, CONTEXT_FULL, CWD_MISMATCH, NO_MESSAGE, ID_TAKEN = STATUS.ok, STATUS.missing,
  STATUS.redirect, STATUS.conflict, STATUS.contextFull, STATUS.cwdMismatch, STATUS.noMessage, STATUS.idTaken

-- The session fields a full record carries, in this order. The last, ve (the version), tells a sidecar
-- whether its copy is still right: "<changes>:<score>:<nonce>", where changes counts changes to the
-- fields a record shows other than the revision, last access and count, and the listing score and a
-- random nonce the creating sidecar chose tell one creation of a session id from a later one. Kept
-- whole, it is compared as it is read.
local RECORD_FIELDS = {
  'cwd', 'title', 'caps', 'mcp', 'dirs', 'created', 'seen', 'n', 'rev', 'arch', 'idle', 'pin', 'parent', 'forked', 've',
}

-- A message's role as the letter that starts its entry in the d: list (the key layout: keys.ts).
local ROLE = {user = 'u', assistant = 'a', system = 's'}

-- The letters an update names the fields it changes by, in the order their values follow.
local CHANGE = {title = 't', caps = 'c', mcp = 'm', dirs = 'd', retention = 'r'}
