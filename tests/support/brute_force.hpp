// Exhaustive optimum for tiny instances: the independent Oracle (oracle.hpp), which enumerates
// every assignment and every per-device order without the library's replay.
#pragma once

#include "oracle.hpp"

namespace diviml::testing {

// Returns +inf when no plan exists.
inline double brute_force_optimum(const Problem& pr) { return Oracle(pr).optimum(); }

}  // namespace diviml::testing
