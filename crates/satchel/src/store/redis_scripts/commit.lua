-- A fenced commit: apply op and release the lease only while ARGV[1] still holds it.
-- KEYS: lease, record, [new record]. ARGV: token, op (s save | d delete | r rotate | else release), [value, ttl ms].
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local op = ARGV[2]
if op == 's' then
  if redis.call('SET', KEYS[2], ARGV[3], 'XX', 'PX', ARGV[4]) then return 1 end
  return 0
elseif op == 'd' then
  return redis.call('DEL', KEYS[2])
elseif op == 'r' then
  if redis.call('DEL', KEYS[2]) == 0 then return 0 end
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
  return 1
end
return redis.call('EXISTS', KEYS[2])
