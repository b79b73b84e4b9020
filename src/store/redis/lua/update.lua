-- update: id, known (the version of the caller's copy of the record, or ''), now, defaultIdle,
-- maxContext (-1: none), trim ('1'/'0'), expectedRevision ('' for none), cwd?, the changes (a letter
-- for each field given, in the order of CHANGE, then their values: title?; caps, mcp, dirs as JSON;
-- retention as maxIdle?, pinned), then a count and that many (id, role letter, json)
-- → {OK, rev, seen, n, record or nil when the caller's copy is still right, appended, trimmed}
--   | {MISSING} | {REDIRECT, bucket} | {CWD_MISMATCH, cwd} | {CONFLICT, rev} | {CONTEXT_FULL, max}
-- Also serves touch: no messages, a cwd to check.
return update(true)
