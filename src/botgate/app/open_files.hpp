#pragma once
/// The open-file limit and the connection cap derived from it. Every connection is a file
/// descriptor; at the usual soft limit of 1,024, 1,100 idle connections used to fill the table,
/// and then every accept, the store and the platform clients failed together.

#include <cstddef>
#include <cstdint>

namespace botgate::app {

struct OpenFileLimit {
  std::uint64_t before = 0;  // the soft limit the process started with
  std::uint64_t soft = 0;    // the soft limit now
  std::uint64_t hard = 0;
};

/// Raises the soft RLIMIT_NOFILE to the hard limit, as nginx (worker_rlimit_nofile) and Envoy
/// do: the soft limit of 1,024 is a default for old select() programs, the hard one what the
/// administrator allows. An unlimited hard limit is capped at what the kernel allows a process
/// (fs.nr_open).
OpenFileLimit raise_open_file_limit();

/// Descriptors kept for everything but inbound connections: the store (database, WAL, shared
/// memory, journal), stdio, the event loop, and per bot its API clients' pools (32 idle per
/// host) and gateway connections.
std::size_t descriptor_reserve(std::size_t bots);

/// The connection cap: `configured` (0: not written, then 8,192), but never more than the
/// descriptors left after the reserve (half the limit when the reserve would take more than
/// half), so that the cap, not the file table, is what a flood of connections meets.
std::size_t connection_cap(std::size_t configured, std::uint64_t soft_limit, std::size_t bots);

}  // namespace botgate::app
