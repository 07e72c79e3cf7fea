-- A reader's refresh: moves the record's idle deadline forward (never back, never past the
-- absolute deadline) and its TTL with it, leaving data and lease alone; a logged-in record's
-- last-seen time and index score move with it.
-- KEYS: record. ARGV: wanted idle deadline (20 digits), now, longest TTL in ms, index prefix.
local header = redis.call('GETRANGE', KEYS[1], 0, 59)
local idle = tonumber(string.sub(header, 21, 40))
local abs = tonumber(string.sub(header, 41, 60))
if #header < 60 or not idle or not abs then return 0 end
local wanted = ARGV[1]
if tonumber(wanted) > abs then wanted = string.sub(header, 41, 60) end
local new = tonumber(wanted)
local now = tonumber(ARGV[2])
if new <= idle or new <= now then return 0 end
redis.call('SETRANGE', KEYS[1], 20, wanted)
local ttl = math.min((new - now) * 1000, tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl))
if user_of(KEYS[1]) then
  redis.call('SETRANGE', KEYS[1], 125, string.format('%020d', now))
  index(ARGV[4], KEYS[1], string.format('%d', ttl), ARGV[2])
end
return 1
