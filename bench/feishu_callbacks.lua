-- wrk script: POSTs pre-generated encrypted and signed Feishu callbacks, each a distinct event,
-- one after another (bench/run.py writes the file; wrk -s feishu_callbacks.lua URL -- FILE).
local requests = {}
local index = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local timestamp, nonce, signature, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["X-Lark-Request-Timestamp"] = timestamp,
      ["X-Lark-Request-Nonce"] = nonce,
      ["X-Lark-Signature"] = signature,
    }, body)
  end
  file:close()
end

function request()
  index = index % #requests + 1
  return requests[index]
end

local failures = 0
function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
end

function done(summary, latency, requests_)
  io.write(string.format("BENCH requests=%d errors=%d non200=%d rps=%.1f p50_ms=%.3f p99_ms=%.3f\n",
    summary.requests, summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, summary.errors.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
