-- wrk script: POSTs pre-generated send requests to botgate's POST /api/v1/messages, one after
-- another (bench/api.py writes the file; wrk -s api_messages.lua URL -- FILE TOKEN). Each line
-- is one JSON body; every request carries the API token.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "callbacks.lua")

function init(args)
  local authorization = "Bearer " .. args[2]
  load_requests(args[1], function(line)
    return wrk.format("POST", nil, {
      ["Content-Type"] = "application/json",
      ["Authorization"] = authorization,
    }, line)
  end)
end
