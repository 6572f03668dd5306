// Internal to src/report: text for XML and HTML (element text and attribute values), and numbers
// as text.
#pragma once

#include <string>

namespace diviml::report {

// `<`, `>`, `&` and `"` as entities; control bytes and bytes that are not UTF-8 as \xNN text
// (newlines as \n), which XML cannot hold at all.
std::string esc(const std::string& s);

// `x` through printf's format `f` (one double, at most 63 characters).
std::string fmt(const char* f, double x);

}  // namespace diviml::report
