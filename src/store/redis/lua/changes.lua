-- Changing a session: what the update and append operations (update.lua, append.lua) both run.

-- Sessions as the common append (below) left them, each just as load() would read it now (it changes
-- only rev, n, seen and due, and sets them as it writes them): while only such appends run, a later
-- update of the same session in this batch starts from here instead of reading the session again.
-- Pipelined appends to a busy session meet several times in one batch.
local loaded, keep_loaded = {}, false

-- Arguments and reply: update.lua. Append's arguments are update's without the expected revision,
-- cwd and changes (with_changes false).
local function update(with_changes)
  local id, known, now, default_idle, max_context, trim = arg(), arg(), numarg(), numarg(), numarg(), arg() == '1'
  local expected, cwd, given = nil, nil, ''
  if with_changes then expected, cwd, given = numarg(), optarg(), arg() end
  local S = loaded[id] or load(id)
  if not S then return absent(id) end
  if cwd then
    local stored = redis.call('HGET', S.hash, 'cwd')
    if cwd ~= stored then return {CWD_MISMATCH, stored} end
  end
  -- The common append: one message, no field changed, room left and the caller's copy of the record right.
  -- It ends as the rest of this operation would, with the one-message lookup and writes and without the
  -- tables the rest builds for the general case.
  if given == '' and (max_context < 0 or S.n < max_context) and (not expected or expected == S.rev) and known == S.ve then
    local first = argi
    if numarg() == 1 then
      local message_id, role, json = arg(), arg(), arg()
      local fresh = claim(S, message_id)
      if fresh then
        append_one(S, message_id, role, json)
        S.rev, S.n = S.rev + 1, S.n + 1
        if watched(S) then report_change(S, 'appended', 'm', json, 'tr', 0) end
      end
      access(S, now, default_idle, fresh and {'n', int(S.n), 'rev', int(S.rev)} or nil)
      loaded[id], keep_loaded = S, true
      return {OK, S.rev, S.seen, S.n, false, fresh and 1 or 0, 0}
    end
    argi = first
  end
  local writes, dels, policy_changed = {}, {}, false
  local function set(field, value) writes[#writes + 1] = field; writes[#writes + 1] = value end
  if given ~= '' then
    local s = redis.call('HMGET', S.hash, 'title', 'caps', 'mcp', 'dirs')
    if string.find(given, CHANGE.title, 1, true) then
      local title = optarg()
      if (title or false) ~= s[1] then
        if title then set('title', title) else dels[#dels + 1] = 'title' end
      end
    end
    for j, field in ipairs({'caps', 'mcp', 'dirs'}) do
      if string.find(given, CHANGE[field], 1, true) then
        local value = arg()
        if value ~= s[1 + j] then set(field, value) end
      end
    end
    if string.find(given, CHANGE.retention, 1, true) then
      local idle, pin = optarg(), arg()
      if idle ~= S.idle or pin ~= S.pin then
        if idle then set('idle', idle) else dels[#dels + 1] = 'idle' end
        set('pin', pin)
        S.idle, S.pin = idle, pin
        policy_changed = true
      end
    end
  end
  local same_fields = #writes == 0 and #dels == 0
  local count = numarg()
  local ids, roles, jsons = {}, {}, {}
  for j = 1, count do ids[j], roles[j], jsons[j] = arg(), arg(), arg() end
  local st, n = S.st, S.n

  local fresh_ids, fresh_roles, fresh_jsons = {}, {}, {}
  local ch
  if count > 0 then
    ch = chain(S)
    local found = find(ch, st, st + n, ids)
    for j = 1, count do
      local at = found[ids[j]]
      if not at or at < 0 then
        fresh_ids[#fresh_ids + 1], fresh_roles[#fresh_roles + 1], fresh_jsons[#fresh_jsons + 1] = ids[j], roles[j], jsons[j]
      end
    end
  end
  local fresh = #fresh_ids
  local changing = fresh > 0 or not same_fields
  if changing and expected and expected ~= S.rev then return {CONFLICT, S.rev} end

  -- Over maxContextMessages: refuse, or drop the oldest whole turns (a turn starts at a user message).
  local drop, from = 0, 1
  if max_context >= 0 and fresh > 0 and n + fresh > max_context then
    if not trim then return {CONTEXT_FULL, max_context} end
    local total = n + fresh
    local cut = math.max(total - max_context, 1)
    local found
    if cut < n then
      local p = next_user(ch, st + cut, st + n)
      if p then found = p - st end
    end
    if not found then
      for j = math.max(cut, n), total - 1 do
        if fresh_roles[j - n + 1] == ROLE.user then found = j; break end
      end
    end
    if not found then return {CONTEXT_FULL, max_context} end
    drop = found
    if drop > n then from = drop - n + 1 end
  end

  if not same_fields then S.ve = next_version(S.ve); set('ve', S.ve) end
  local copy_right = same_fields and known == S.ve
  if #dels > 0 then redis.call('HDEL', S.hash, unpack(dels)) end
  if drop > 0 then
    local d = math.min(drop, n)
    drop_oldest(ch, st + d, st + n)
    st, n = st + d, n - d
  end
  if from <= fresh then
    append(id, st + n, fresh_ids, fresh_roles, fresh_jsons, from)
    n = n + fresh - from + 1
  end
  if drop > 0 or from <= fresh then set('n', int(n)); set('st', int(st)) end
  if changing then S.rev = S.rev + 1; set('rev', int(S.rev)) end
  S.n = n
  access(S, now, default_idle, writes, policy_changed)
  if watched(S) then
    if from <= fresh then report_change(S, 'appended', 'm', table.concat(fresh_jsons, '\n', from, fresh), 'tr', drop) end
    if not same_fields then report_change(S, 'updated', 'r', cmsgpack.pack(record(id))) end
  end
  local full = false
  if not copy_right then full = record(id) end
  return {OK, S.rev, S.seen, S.n, full, fresh, drop}
end
