-- Ends sessions: KEYS are record keys. ARGV: index prefix. Returns how many existed.
local ended = 0
for _, record in ipairs(KEYS) do
  unindex(ARGV[1], record)
  ended = ended + redis.call('DEL', record)
end
return ended
