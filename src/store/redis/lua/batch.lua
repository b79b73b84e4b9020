-- Runs a batch of operations in order: the argument array (arguments.lua) starts with their number,
-- then each one's name and argument count. The reply holds each operation's reply, in order.

-- Each operation's function is made the first time the batch runs it (make_operation, assembled from
-- the operations' files before this one): the script's top level runs on every call.
local operations = {}
local function operation(name)
  local run = operations[name]
  if run then return run end
  run = make_operation(name)
  operations[name] = run
  return run
end

local replies = {}
argi = 1
for j = 1, tonumber(A[1]) do
  local name, size = arg(), numarg()
  -- An operation that answers early leaves arguments unread: the next one starts where it should.
  local next_operation = argi + size
  keep_loaded = false
  replies[j] = operation(name)()
  -- Any other operation may have changed what a loaded session holds.
  if not keep_loaded and next(loaded) then loaded = {} end
  argi = next_operation
end
return replies
