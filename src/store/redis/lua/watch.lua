-- watch: ttl, a count, that many session ids → {stream position, then each session's rev and n, or -1
-- and -1 when it is gone}. Renews the watches of a sidecar's subscribed sessions in this bucket, and
-- says where they stand as of the stream position (change-feed.ts compares it with what it has read).
local ttl, count = numarg(), numarg()
local out = {stream_position()}
for j = 1, count do
  local S = load(arg())
  if S then
    watch(S, ttl)
    out[#out + 1] = S.rev
    out[#out + 1] = S.n
  else
    out[#out + 1] = -1
    out[#out + 1] = -1
  end
end
return out
