-- What the callback scripts share (feishu_callbacks.lua, wecom_callbacks.lua): read the
-- pre-generated requests from FILE once, send them one after another, and print one BENCH line
-- with the figures bench/common.py reads.
requests = {}
index = 0  -- global: feishu_batch.lua may start elsewhere

-- Reads FILE (args[1]); `to_request(line)` turns each line into a wrk request.
function load_requests(path, to_request)
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    requests[#requests + 1] = to_request(line)
  end
  file:close()
end

function request()
  index = index % #requests + 1
  return requests[index]
end

-- errors: socket errors (connect, read, write, timeout); non2xx: answers with status >= 400
-- (wrk's errors.status); the table adds them up.
function done(summary, latency, requests_)
  io.write(string.format("BENCH requests=%d errors=%d non2xx=%d rps=%.1f p50_ms=%.3f " ..
    "p99_ms=%.3f\n", summary.requests, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.errors.status,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
