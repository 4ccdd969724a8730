-- wrk script: POST pre-signed Zoom webhook bodies, each thread its own share, each body once while they last.
-- WRK_BODIES names a file of lines "timestamp<TAB>signature<TAB>body" (bench/intake.py writes it);
-- WRK_THREADS is wrk's -t. A JSON line prefixed WRK_JSON reports the run for bench/intake.py to parse.

local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local threads = tonumber(os.getenv("WRK_THREADS") or "1")
  requests = {}
  local n = 0
  for line in io.lines(os.getenv("WRK_BODIES")) do
    if n % threads == id then
      local timestamp, signature, body = line:match("^(%d+)\t([^\t]+)\t(.*)$")
      local headers = {
        ["Content-Type"] = "application/json; charset=utf-8",
        ["x-zm-request-timestamp"] = timestamp,
        ["x-zm-signature"] = signature,
      }
      requests[#requests + 1] = wrk.format("POST", nil, headers, body)
    end
    n = n + 1
  end
  index = 0
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
