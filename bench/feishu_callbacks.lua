-- wrk script: POSTs pre-generated encrypted and signed Feishu callbacks, each a distinct event,
-- one after another (bench/ingress.py writes the file; wrk -s feishu_callbacks.lua URL -- FILE).
-- Each line: timestamp TAB nonce TAB signature TAB body. No response() here: with one, wrk hands
-- every answer to Lua (bench/feishu_batch.lua adds one for the memory benchmark).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "callbacks.lua")

function init(args)
  load_requests(args[1], function(line)
    local timestamp, nonce, signature, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
    return wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["X-Lark-Request-Timestamp"] = timestamp,
      ["X-Lark-Request-Nonce"] = nonce,
      ["X-Lark-Signature"] = signature,
    }, body)
  end)
  stop_after = tonumber(args[2])  -- feishu_batch.lua only
end
