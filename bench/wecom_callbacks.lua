-- wrk script: POSTs pre-generated encrypted WeCom callbacks (<xml><Encrypt>..</Encrypt></xml>,
-- msg_signature/timestamp/nonce in the query), each a distinct MsgId, one after another
-- (bench/ingress.py writes the file; wrk -s wecom_callbacks.lua URL -- FILE).
-- Each line: query string TAB body.
local requests = {}
local index = 0

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local query, body = line:match("^([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", wrk.path .. "?" .. query,
      { ["Content-Type"] = "text/xml" }, body)
  end
  file:close()
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function done(summary, latency, requests_)
  io.write(string.format("BENCH requests=%d errors=%d non2xx=%d rps=%.1f p50_ms=%.3f " ..
    "p99_ms=%.3f\n", summary.requests, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout, summary.errors.status,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
