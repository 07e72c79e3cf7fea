-- wrk script shared by every workload: each request carries the next cookie of a file (one
-- "name=value" per line; threads start at different lines), or no cookie when the file is "-".
-- Requests are built once in init(), so every system costs wrk the same per request.
-- done() prints one line "JSON {...}" that bench/harness.py reads.
--
--   wrk -t1 -c32 -d3s -s rotate.lua http://127.0.0.1:5100/counter -- cookies.txt

local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

local requests, next_index = {}, 1

function init(args)
  local file = args[1] or "-"
  if file == "-" then
    requests[1] = wrk.format("GET", wrk.path)
  else
    for line in io.lines(file) do
      if line ~= "" then
        requests[#requests + 1] = wrk.format("GET", wrk.path, { Cookie = line })
      end
    end
  end
  assert(#requests > 0, "no cookies in " .. file)
  next_index = (id * 7919) % #requests + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end

function done(summary, latency)
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"mean": %.1f, "p50": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency:percentile(50), latency:percentile(99), latency.max))
end
