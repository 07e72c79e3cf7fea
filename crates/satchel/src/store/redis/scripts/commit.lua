-- A fenced commit: apply op and release the lease only while ARGV[1] still holds it, keeping
-- the per-user index in step.
-- KEYS: lease, record, [new record]. ARGV: token, op (s save | d delete | r rotate | else
-- release), index prefix, now, [value, ttl ms].
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local op = ARGV[2]
local prefix = ARGV[3]
local now = ARGV[4]
if op == 's' then
  if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
  unindex(prefix, KEYS[2])
  redis.call('SET', KEYS[2], ARGV[5], 'XX', 'PX', ARGV[6])
  index(prefix, KEYS[2], ARGV[6], now)
  return 1
elseif op == 'd' then
  unindex(prefix, KEYS[2])
  return redis.call('DEL', KEYS[2])
elseif op == 'r' then
  unindex(prefix, KEYS[2])
  if redis.call('DEL', KEYS[2]) == 0 then return 0 end
  redis.call('SET', KEYS[3], ARGV[5], 'PX', ARGV[6])
  index(prefix, KEYS[3], ARGV[6], now)
  return 1
end
return redis.call('EXISTS', KEYS[2])
