// The solver interface and registry. A solver decides a Mapping; `solve()` then replays it,
// attaches the lower bound and validates the plan, so every plan that leaves the library is
// replayed and valid.
//
// @code
//   auto problem = diviml::Problem::build(graph, platform);
//   diviml::SolveOptions opt;
//   opt.time_limit_s = 10;
//   diviml::Result<diviml::Plan> plan = diviml::solve("heft", *problem, opt);
// @endcode
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "diviml/sched/plan.hpp"

namespace diviml {

struct SolveOptions {
  using Clock = std::chrono::steady_clock;
  double time_limit_s = 60.0;  // wall-clock limit for searching solvers
  int threads = 1;
  std::uint64_t seed = 0;
  bool verbose = false;
  int module_size = 12;             // split: most nodes inside one module when merging pieces
  double module_time_limit_s = 0.5;  // split: most time for one pinned module MILP
  int max_channels = 3;             // split: most tensors crossing a multi-channel cut (0: none)
  long module_bnb_expansions = 200000;  // split: branch-and-bound budget per pinned solve (0: MILP only)
  // The one deadline every part of a solve shares (sub-solves, CBC children, bounds, auto's
  // portfolio). `solve()` sets it to now + time_limit_s, or keeps an earlier one it was given.
  Clock::time_point deadline = Clock::time_point::max();

  // Seconds until the deadline (never negative; time_limit_s while no deadline is set).
  double seconds_left() const {
    if (deadline == Clock::time_point::max()) return time_limit_s;
    return std::max(0.0, std::chrono::duration<double>(deadline - Clock::now()).count());
  }
  // The same options with a deadline at most `seconds` from now.
  SolveOptions within(double seconds) const {
    SolveOptions o = *this;
    const double s = std::max(0.0, std::min(seconds, seconds_left()));
    o.time_limit_s = s;
    o.deadline = std::min(deadline, Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                        std::chrono::duration<double>(s)));
    return o;
  }
};

// What a solver returns before replay: its decision, what it proved, and a bound if it has one.
struct SolverOutput {
  Mapping mapping;
  PlanStatus status = PlanStatus::kHeuristic;
  double bound_us = 0;  // a proven lower bound the solver found (0 = none)
  std::vector<std::string> notes;
  std::vector<ModuleSummary> modules;
};

class Solver {
 public:
  virtual ~Solver() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  virtual Result<SolverOutput> run(const Problem& problem, const SolveOptions& options) const = 0;
};

// Registered solver names, in the order `diviml plan --help` lists them.
std::vector<std::string> solver_names();
std::unique_ptr<Solver> make_solver(const std::string& name);

// Runs the named solver and returns a replayed, validated plan with its lower bound (max of
// the static bounds and the solver's own). A plan whose makespan meets the bound is optimal.
Result<Plan> solve(const std::string& solver, const Problem& problem, const SolveOptions& options);

}  // namespace diviml
