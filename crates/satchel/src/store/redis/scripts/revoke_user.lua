-- Ends every session of one user. KEYS: the user's set. Returns how many existed.
local ended = 0
for _, record in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  ended = ended + redis.call('DEL', record)
end
redis.call('DEL', KEYS[1])
return ended
