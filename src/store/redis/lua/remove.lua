-- remove: id → {OK} once deleted, with every history segment no fork reads | {MISSING} | {REDIRECT, bucket}
local id = arg()
local S = load(id)
if not S then return absent(id) end
if watched(S) then report_change(S, 'removed') end
delete_session(S)
return {OK}
