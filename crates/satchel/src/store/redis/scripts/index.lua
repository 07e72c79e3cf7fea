-- The per-user index, shared by the scripts that write records (prepended to each).
-- A record with a login has 'L' right after its 60-byte header, then the user key (64 hex
-- digits), then last seen (20 digits). A user's sessions are a sorted set <p>v2:user:<key>
-- of record key names, scored by each record's expiry, living as long as its longest member.
local function user_of(record)
  local tag = redis.call('GETRANGE', record, 60, 124)
  if string.sub(tag, 1, 1) == 'L' and #tag == 65 then return string.sub(tag, 2, 65) end
  return nil
end

local function unindex(prefix, record)
  local user = user_of(record)
  if user then redis.call('ZREM', prefix .. 'user:' .. user, record) end
end

-- Files `record` (already written, with `ttl` ms left) under its user, if it has one.
local function index(prefix, record, ttl, now)
  local user = user_of(record)
  if not user then return end
  local set = prefix .. 'user:' .. user
  local header = redis.call('GETRANGE', record, 20, 59)
  local expires = math.min(tonumber(string.sub(header, 1, 20)), tonumber(string.sub(header, 21, 40)))
  redis.call('ZADD', set, expires, record)
  redis.call('ZREMRANGEBYSCORE', set, '-inf', '(' .. now)
  if redis.call('PTTL', set) < tonumber(ttl) then redis.call('PEXPIRE', set, ttl) end
end
