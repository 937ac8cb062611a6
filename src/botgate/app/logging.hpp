#pragma once
/// The process-wide logger: text or JSON lines on stderr, at the configured level.

#include <string>

namespace botgate::app {

/// `level`: trace debug info warn error; `format`: text or json. Unknown values are rejected by
/// the config loader before this is called.
void setup_logging(const std::string& level, const std::string& format);

}  // namespace botgate::app
