-- Where a window lies in a session of `total` messages: its first index and how many it takes.
-- Mirrors windowRange in src/store/window.ts, and test/store/redis/lua.test.ts holds the two to it.
-- offset, limit and tail are -1 when not given; after and before are the index of the message the
-- window names, nil when it names none. A window placed by its start (offset, after) takes at most
-- limit from there on; one placed by its end (tail, before) at most tail and at most limit back from
-- there. An empty window starts where it would have, never past total.
local function window_range(total, offset, limit, tail, after, before)
  if tail >= 0 or before then
    local stop = before or total
    local size = stop
    if tail >= 0 and tail < size then size = tail end
    if limit >= 0 and limit < size then size = limit end
    return stop - size, size
  end
  local start = offset
  if after then start = after + 1 end
  if start > total then start = total end
  local count = total - start
  if limit >= 0 and limit < count then count = limit end
  return start, count
end
