#pragma once
/// Names the calling thread as `top -H`, `ps -L` and /proc/PID/task/*/comm show it (at most 15
/// characters; longer names are cut): which of botgate's threads spends the CPU is then visible
/// from outside (bench/gateway.py splits a flood's CPU by them).

namespace botgate {

void name_this_thread(const char* name) noexcept;

}  // namespace botgate
