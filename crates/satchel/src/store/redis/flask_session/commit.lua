-- A fenced commit on Flask-Session's layout: apply op and release the lease only while ARGV[1]
-- still holds it. The value is Flask-Session's MessagePack, with its TTL in seconds (`EX`, as
-- Flask-Session's every save).
-- KEYS: lease, record, [new record]. ARGV: token, op (s save | d delete | r rotate | else
-- release), [value, ttl s].
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
local op = ARGV[2]
if op == 's' then
  if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  return 1
elseif op == 'd' then
  return redis.call('DEL', KEYS[2])
elseif op == 'r' then
  if redis.call('DEL', KEYS[2]) == 0 then return 0 end
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
  return 1
end
return redis.call('EXISTS', KEYS[2])
