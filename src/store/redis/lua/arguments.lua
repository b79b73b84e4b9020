-- ARGV[2] is the batch's arguments packed as one MessagePack array of strings and numbers: the number
-- of operations, then each operation's name, argument count and arguments. One packed argument
-- instead of hundreds is cheaper to send and to read, in the sidecar and in Redis alike, and numbers
-- arrive as numbers, with no string to make and intern on either side. Bytes (long messages) travel
-- unpacked as ARGV[3] on, each named in the array by a one-element array holding its ARGV index:
-- Redis's cmsgpack reads no MessagePack bin.
--
-- An operation reads its arguments in order with arg(), numbers with numarg(). An optional value
-- travels as a flag ('1' when present) and a value, as text: optarg() reads both. Times are Redis
-- server clock milliseconds (the caller converts).
local A = cmsgpack.unpack(ARGV[2])
local argi = 0
local function arg()
  argi = argi + 1
  local value = A[argi]
  if type(value) == 'table' then return ARGV[value[1]] end
  return value
end
local function numarg() return tonumber(arg()) end
local function optarg() local present = arg(); local value = arg(); if present == '1' then return value end return nil end
