// The top-level call: runs a solver and returns an evaluated, bounded and validated plan. Every
// plan that leaves the library comes through here.
//
// @code
//   auto problem = diviml::Problem::build(graph, platform);
//   diviml::SolveOptions opt;
//   opt.time_limit_s = 10;
//   diviml::Result<diviml::Plan> plan = diviml::solve("heft", *problem, opt);
// @endcode
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "diviml/solve/solver.hpp"

namespace diviml {

// Optional hooks of a solve: where progress goes, a flag that stops it (the best plan so far
// comes back, `feasible`), the objective (latency when null), and a decision to start from
// (a latency plan's device and order per device: the MILP's incumbent; for throughput, `auto`
// weighs it as a one-lane stream, paced where a latency limit or memory asks).
struct SolveHooks {
  ProgressSink progress;
  const std::atomic<bool>* cancel = nullptr;
  const Objective* objective = nullptr;
  std::shared_ptr<const Mapping> warm_start = nullptr;
};

// Checks the options (usage error naming the option), computes the objective's static bounds
// (the LP within min(bound-lp-time, 10% of the limit)), runs the named solver with what is left
// of the one deadline, evaluates its decision, and attaches the bound: max(static, solver's).
// `optimal` only when the plan's value meets that bound (kOptimalityTolerance); a bound above
// the plan or a plan that fails validation is an internal error. solve_time_s covers it all.
Result<Plan> solve(const std::string& solver, const Problem& problem, const SolveOptions& options,
                   const SolveHooks& hooks = {});

}  // namespace diviml
