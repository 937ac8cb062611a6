-- wrk script for the memory benchmark: feishu_callbacks.lua, but after STOP_AFTER answers the
-- thread says BATCH-DONE on stdout and stops sending (bench/memory.py then interrupts wrk, which
-- otherwise sleeps out its -d). wrk -s feishu_batch.lua URL -- FILE STOP_AFTER [FIRST_LINE]
-- FIRST_LINE (default 1): where in FILE to start, so that the batches from one file are distinct.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "feishu_callbacks.lua")

local base_init = init
function init(args)
  base_init(args)
  if args[3] then index = tonumber(args[3]) - 1 end
end

local answered = 0
function response(status, headers, body)
  answered = answered + 1
  if answered == stop_after then
    io.write("BATCH-DONE\n")
    io.stdout:flush()
    wrk.thread:stop()
  end
end
