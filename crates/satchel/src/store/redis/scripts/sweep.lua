-- The background pass over one user's index: deletes expired logged-in records (which carry
-- no TTL) and their entries, and the index once it is empty.
-- KEYS: the user's set. ARGV: now.
local swept = sweep(KEYS[1], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return swept
