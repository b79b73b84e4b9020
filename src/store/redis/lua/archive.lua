-- archive: id, archived ('1'/'0'), now, defaultIdle → {OK, record} | {MISSING} | {REDIRECT, bucket}.
-- Archiving is not an access; unarchiving is.
local id = arg()
local S = load(id)
if not S then return absent(id) end
local archived, now, default_idle = arg(), numarg(), numarg()
if S.arch ~= archived then
  set_archived(S, archived)
  if watched(S) then
    if archived == '1' then report_change(S, 'archived') else report_change(S, 'unarchived') end
  end
end
if archived == '1' then redis.call('ZREM', kp .. 'idle', id) else access(S, now, default_idle, nil, true) end
return {OK, record(id)}
