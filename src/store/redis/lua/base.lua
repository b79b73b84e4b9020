-- The script runs inside one bucket: KEYS[1] is a key of it and ARGV[1] its key prefix. Every other key
-- it touches is built from that prefix, so all are in the bucket's slot (the key layout: keys.ts).
local kp = ARGV[1]
local function key(kind, id) return kp .. kind .. ':' .. id end

-- Written once into each session hash and id index: a value longer than hash-max-listpack-value (64
-- bytes by default) makes Redis keep the hash as a hash table. Each access reads and writes many of a
-- session's fields and each append looks up ids that are not there yet; in a listpack every one of
-- those is a linear scan. Never read.
local WIDE = string.rep('.', 65)

-- Lua turns numbers into strings with 14 significant digits (too few for a score); Redis turns those
-- handed to redis.call into exact text, but through the floating-point printf. Times, scores and the
-- append path's counts go through this. '%d' is the cheaper of the two, but formats a C long, which is
-- 32 bits on some servers: there, '%.0f' it is.
local int
if string.format('%d', 2^40) == '1099511627776' then
  int = function(x) return string.format('%d', x) end
else
  int = function(x) return string.format('%.0f', x) end
end
