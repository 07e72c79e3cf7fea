-- The per-user index, shared by the scripts that write records (prepended to each).
-- A record with a login has 'L' right after its 60-byte header, then the user key (64 hex
-- digits), then last seen (20 digits). A user's sessions are a sorted set <p>v2:user:<key>
-- of record key names, scored by each record's expiry.
-- A logged-in record and its user's set carry no TTL: under maxmemory-policy volatile-lru,
-- Redis evicts only keys with one (anonymous sessions, leases), so no flood can log anyone
-- out. Their expiry is the deadline in the header (checked on every load); sweep() deletes
-- the expired ones, on every write of the user's sessions and in the store's background pass.
local function user_of(record)
  local tag = redis.call('GETRANGE', record, 60, 124)
  if string.sub(tag, 1, 1) == 'L' and #tag == 65 then return string.sub(tag, 2, 65) end
  return nil
end

local function unindex(prefix, record)
  local user = user_of(record)
  if user then redis.call('ZREM', prefix .. 'user:' .. user, record) end
end

-- Deletes up to 64 of `set`'s records whose deadline has passed at `now`, with their entries.
local function sweep(set, now)
  local expired = redis.call('ZRANGEBYSCORE', set, '-inf', '(' .. now, 'LIMIT', 0, 64)
  for _, old in ipairs(expired) do
    local header = redis.call('GETRANGE', old, 20, 59)
    local idle = tonumber(string.sub(header, 1, 20))
    local abs = tonumber(string.sub(header, 21, 40))
    if #header == 40 and idle and abs and math.min(idle, abs) <= tonumber(now) then
      redis.call('DEL', old)
    end
    redis.call('ZREM', set, old)
  end
  return #expired
end

-- Files `record` (already written) under its user, if it has one. (`ttl` is unused: kept so
-- every caller passes the same arguments.)
local function index(prefix, record, ttl, now)
  local user = user_of(record)
  if not user then return end
  local set = prefix .. 'user:' .. user
  local header = redis.call('GETRANGE', record, 20, 59)
  local expires = math.min(tonumber(string.sub(header, 1, 20)), tonumber(string.sub(header, 21, 40)))
  redis.call('PERSIST', record)
  redis.call('ZADD', set, expires, record)
  sweep(set, now)
  redis.call('PERSIST', set)
end
