-- wrk script: POSTs pre-generated encrypted and signed Feishu callbacks, each a distinct event,
-- one after another (bench/ingress.py writes the file; wrk -s feishu_callbacks.lua URL -- FILE).
-- Each line: timestamp TAB nonce TAB signature TAB body. No response() here: with one, wrk hands
-- every answer to Lua (bench/feishu_batch.lua adds one for the memory benchmark).
local requests = {}
index = 0  -- global: feishu_batch.lua may start elsewhere

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
  stop_after = tonumber(args[2])  -- feishu_batch.lua only
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
