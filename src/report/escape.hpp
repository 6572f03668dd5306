// Internal to src/report: text for XML and HTML (element text and attribute values).
#pragma once

#include <string>

namespace diviml::report {

// `<`, `>`, `&` and `"` as entities.
std::string esc(const std::string& s);

}  // namespace diviml::report
