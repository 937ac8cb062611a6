-- wrk script for the cluster benchmark: feishu_callbacks.lua for one of PARTS wrk processes that
-- load several botgate instances at once (bench/cluster.py).
-- wrk -s cluster_callbacks.lua URL -- FILE PART PARTS GATE
-- * Of FILE's lines it keeps those whose number modulo PARTS is PART, so that the processes send
--   distinct events (no duplicates between instances).
-- * Having read them it opens the FIFO GATE and waits for a line there: the harness opens every
--   process's gate once all have read their file (which takes seconds, each at its own pace) and
--   then lets them go at once, so that their 10 s overlap.
-- * done() also prints latency percentiles on a grid fine enough near the tail (PCT p=us ...), from
--   which the harness computes the p50 and p99 of all the processes' requests together.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "feishu_callbacks.lua")

local base_init = init
function init(args)
  local part, parts = tonumber(args[2]), tonumber(args[3])
  local base_load = load_requests
  load_requests = function(path, to_request)
    local line_number = -1
    base_load(path, function(line)
      line_number = line_number + 1
      -- nil: load_requests' requests[#requests + 1] = nil leaves the line out
      if line_number % parts ~= part then return nil end
      return to_request(line)
    end)
  end
  base_init({args[1]})
  load_requests = base_load
  local gate = assert(io.open(args[4], "r"))  -- blocks until the harness opens it for writing
  assert(gate:read("*l") == "go", "the gate closed without a go")
  gate:close()
end

local base_done = done
function done(summary, latency, requests_)
  base_done(summary, latency, requests_)
  local grid = {50, 75, 90, 95, 96, 97, 98}
  for tenth = 981, 999 do grid[#grid + 1] = tenth / 10 end
  grid[#grid + 1] = 99.95
  grid[#grid + 1] = 99.99
  local out = {}
  for _, p in ipairs(grid) do
    out[#out + 1] = string.format("%g=%d", p, latency:percentile(p))
  end
  -- Not percentile(100): wrk's rank for it is one past the last request (it answers 0).
  out[#out + 1] = string.format("100=%d", latency.max)
  io.write("PCT " .. table.concat(out, " ") .. "\n")
end
