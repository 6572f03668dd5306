// Work that may crash or hang, run in a forked child: third-party code that has segfaulted on
// inputs we must survive (CBC's cut generators and presolve, ONNX's shape inference on a
// malformed model). The child's crash or overrun becomes a value the caller turns into an
// error or a fallback; the parent never goes down with it.
#pragma once

#include <functional>
#include <string>

namespace diviml {

struct ChildOutcome {
  enum class Kind { kDone, kCrashed, kKilled, kNoChild };
  Kind kind = Kind::kNoChild;
  std::string output;  // what `work` returned (kDone only)
  int signal = 0;      // kCrashed: the signal that ended the child
  // One phrase for messages: "crashed (signal 11)", "was killed at its limit of 2.5 s", ...
  std::string describe(double limit_s) const;
};

// Forks, runs `work` in the child (crash handlers reset to the default, so no sanitizer or
// fuzzer report runs for the child) and reads what it returns through a pipe. A child still
// running after `limit_s` seconds is killed. kNoChild when no pipe or process could be made:
// the caller may then run the work in process.
ChildOutcome run_in_child(const std::function<std::string()>& work, double limit_s);

}  // namespace diviml
