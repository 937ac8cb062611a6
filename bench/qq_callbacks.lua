-- wrk script: POSTs pre-generated QQ webhook callbacks (op 0 dispatches, each a distinct event),
-- signed as QQ signs them, one after another (bench/ingress.py writes the file; wrk -s
-- qq_callbacks.lua URL -- FILE APPID). Each line: timestamp TAB signature TAB body.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "callbacks.lua")

function init(args)
  local app_id = args[2]
  load_requests(args[1], function(line)
    local timestamp, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    return wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["User-Agent"] = "QQBot-Callback",
      ["X-Bot-Appid"] = app_id,
      ["X-Signature-Timestamp"] = timestamp,
      ["X-Signature-Ed25519"] = signature,
    }, body)
  end)
end
