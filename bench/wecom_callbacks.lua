-- wrk script: POSTs pre-generated encrypted WeCom callbacks (<xml><Encrypt>..</Encrypt></xml>,
-- msg_signature/timestamp/nonce in the query), each a distinct MsgId, one after another
-- (bench/ingress.py writes the file; wrk -s wecom_callbacks.lua URL -- FILE).
-- Each line: query string TAB body.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "callbacks.lua")

function init(args)
  load_requests(args[1], function(line)
    local query, body = line:match("^([^\t]*)\t(.*)$")
    return wrk.format("POST", wrk.path .. "?" .. query, { ["Content-Type"] = "text/xml" }, body)
  end)
end
