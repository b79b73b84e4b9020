-- has: id → {OK} | {MISSING} | {REDIRECT, bucket}
local id = arg()
if redis.call('EXISTS', key('s', id)) == 0 then return absent(id) end
return {OK}
