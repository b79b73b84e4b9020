-- list: index ('live'/'arch'), max score (Redis range syntax), want, budget, cwd?
-- → {exhausted (1/0), frontier, then id, score, record per match}: newest first from max, scanning at
-- most budget entries and stopping at want matches. frontier is the last score looked at, where the
-- next call resumes.
local index, max, want, budget, cwd = arg(), arg(), numarg(), numarg(), optarg()
local entries = redis.call('ZREVRANGEBYSCORE', kp .. index, max, '-inf', 'WITHSCORES', 'LIMIT', 0, budget)
local out = {0, ''}
local matched = 0
for j = 1, #entries, 2 do
  local id = entries[j]
  out[2] = entries[j + 1]
  if not cwd or redis.call('HGET', key('s', id), 'cwd') == cwd then
    out[#out + 1] = id
    out[#out + 1] = entries[j + 1]
    out[#out + 1] = record(id)
    matched = matched + 1
    if matched >= want then return out end
  end
end
if #entries < 2 * budget then out[1] = 1 end
return out
