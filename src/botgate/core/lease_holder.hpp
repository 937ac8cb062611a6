#pragma once
/// Who holds a store lease (Store::lease_acquire) taken by this process.

#include <string>

namespace botgate {

/// A name for this process's leases: "<host>/<pid>/<random>". Two processes never share one,
/// also on one machine and after a restart with the same pid.
const std::string& process_lease_holder();

}  // namespace botgate
