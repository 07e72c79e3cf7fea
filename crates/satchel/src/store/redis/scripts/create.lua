-- Files a new logged-in session: insert-only, and under its user.
-- KEYS: record. ARGV: value, ttl ms, index prefix, now.
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
index(ARGV[3], KEYS[1], ARGV[2], ARGV[4])
return 1
