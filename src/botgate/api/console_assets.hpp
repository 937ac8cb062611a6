#pragma once
/// The web console's files (web/console/ in the repo), compiled into the binary so that botgate
/// serves its console wherever it runs, with no folder to install.

#include <span>
#include <string_view>

namespace botgate::api {

struct Asset {
  std::string_view name;   // the file name, e.g. "console.js"
  std::string_view bytes;
};

/// Every file of web/console/, sorted by name. Generated at build time.
std::span<const Asset> console_assets();

}  // namespace botgate::api
