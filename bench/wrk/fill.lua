-- wrk script for workload 5's filler sessions: the same request WITHOUT a cookie, over and over,
-- so every request makes the server create a new session through its real create path. Each
-- thread stops once it has counted its share of 2xx responses (the argument: sessions per
-- thread) and prints "FILLED"; wrk itself sleeps out its -d, so bench/harness.py sends it SIGINT
-- once every thread has said FILLED. done() prints one line "JSON {...}" that the harness reads;
-- "created" is the 2xx total, the sessions the server confirmed. Requests still in flight when a
-- thread stops (at most its connections) may create a few more that are not counted.
--
--   wrk -t2 -c32 -d600s -s fill.lua http://127.0.0.1:5100/counter -- 49500

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

local request_text, share, filled = nil, 0, false
created = 0  -- global: done() reads it through thread:get()

function init(args)
  share = tonumber(args[1])
  request_text = wrk.format("GET", wrk.path)
end

function request()
  return request_text
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    created = created + 1
    if created >= share and not filled then
      filled = true
      io.write("FILLED\n")
      io.stdout:flush()
      wrk.thread:stop()
    end
  end
end

function done(summary, latency)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("created")
  end
  io.write(string.format(
    'JSON {"created": %d, "requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d}\n',
    total, summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
