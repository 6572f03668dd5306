// Shared by the command-line front end's files (tools/): how an error ends a command.
#pragma once

#include <cstdio>
#include <string>

#include "diviml/core/result.hpp"

namespace diviml::cli {

constexpr int kExitUsage = static_cast<int>(ErrorKind::kUsage);

// The exit code of an error is its kind (core/result.hpp): 1 input, 2 usage, 3 internal, 4 no plan.
inline int die(const Error& e) {
  std::fprintf(stderr, "diviml: error: %s\n", one_line(e.message).c_str());
  return static_cast<int>(e.kind);
}
inline int die(const std::string& message) { return die(fail(message)); }
inline int usage(const std::string& message) { return die(usage_error(message + " (see diviml --help)")); }

}  // namespace diviml::cli
