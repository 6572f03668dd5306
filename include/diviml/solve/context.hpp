// The solve context: what every solver is handed along with the problem, and passes down (a
// narrower copy) to the solvers it calls on sub-problems. One deadline for the whole solve,
// threads, seed, the option values, a cancellation flag, a progress sink, a cache of results
// about the top-level problem, and the objective that scores plans.
//
// Solvers call each other's internals with a context (`ctx.within(s)` for a share of the time,
// `ctx.for_subproblem()` for a restricted problem view); only `solve()` at the top evaluates,
// validates and bounds the plan it returns.
#pragma once

#include <any>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "diviml/objective/objective.hpp"
#include "diviml/objective/plan.hpp"
#include "diviml/solve/options.hpp"

namespace diviml {

// One progress event: a solver found a better plan, proved a bound, or changed phase.
struct Progress {
  std::string solver;
  std::string message;
  double incumbent = kInf;    // best value so far (the objective's unit), inf when none
  double bound = 0;           // best proven bound so far, 0 when none
  int done = -1, total = -1;  // a phase's count of units (split: exact module solves), -1 when none
};
// Called from the solving threads (split's workers among them): the sink serialises itself.
using ProgressSink = std::function<void(const Progress&)>;

// Results about one problem that several solvers of one solve need (auto runs HEFT once for
// itself, the MILP's start and split's fallback). Thread-safe; keyed by name and problem.
class SolveCache {
 public:
  explicit SolveCache(const Problem* problem) : problem_(problem) {}
  // The value stored under `key` for `problem`, made by `make()` on first use. A cache made for
  // another problem (a sub-problem view) does not store: `make()` runs every time.
  template <class T, class F>
  T get(const Problem& problem, const std::string& key, F&& make) {
    if (&problem != problem_) return make();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = values_.find(key);
      if (it != values_.end()) return std::any_cast<T>(it->second);
    }
    T value = make();  // outside the lock: make() may use the cache itself
    std::lock_guard<std::mutex> lock(mutex_);
    values_.emplace(key, value);
    return value;
  }

  // The least one-input latency (a plan's makespan_us) of any plan scored under a latency
  // limit (SolveContext::score): what an infeasible limit's message reports.
  void saw_latency(double us) {
    double now = least_latency_.load();
    while (us < now && !least_latency_.compare_exchange_weak(now, us)) {
    }
  }
  double least_latency() const { return least_latency_.load(); }

 private:
  const Problem* problem_;
  std::atomic<double> least_latency_{kInf};
  std::mutex mutex_;
  std::map<std::string, std::any> values_;
};

struct SolveContext {
  using Clock = std::chrono::steady_clock;

  SolveOptions options;
  Clock::time_point deadline = Clock::time_point::max();
  const std::atomic<bool>* cancel = nullptr;  // set by the caller to stop early (best plan kept)
  ProgressSink progress;                      // may be empty
  std::shared_ptr<SolveCache> cache;          // about the top-level problem; may be null
  // A plan of this problem to start from (split hands a pinned MILP the plan of its branch and
  // bound: the MILP's incumbent and horizon when it beats the MILP's own baselines); may be null.
  std::shared_ptr<const Mapping> warm_start;
  const Objective* objective = &latency_objective();

  // A context whose deadline is `options.time_limit_s` from now.
  static SolveContext start(const SolveOptions& options);

  // Seconds until the deadline, 0 once cancelled (never negative).
  double seconds_left() const;
  // The deadline passed or the caller cancelled.
  bool stopped() const { return seconds_left() <= 0; }
  // The same context with a deadline at most `seconds` from now.
  SolveContext within(double seconds) const;
  // For a solve of a restricted sub-problem: same deadline and flags, no cache, and no progress
  // sink (its values are not the whole problem's; the caller reports for it).
  SolveContext for_subproblem() const;
  // What solvers compare plans by: the objective's value, +inf for a plan whose one-input
  // latency (its makespan) exceeds the max-latency-us option.
  double score(const Plan& plan) const;
  // The static lower bound solve() computed for the top-level problem, kept in the cache for
  // the solvers (a local search stops at a plan that meets it); 0 for another problem (a
  // sub-problem view) or without a cache.
  void keep_static_bound(const Problem& problem, double bound_us) const;
  double static_bound(const Problem& problem) const;
  // Sends an event to the sink, if any.
  void report(const std::string& solver, const std::string& message, double incumbent = kInf, double bound = 0,
              int done = -1, int total = -1) const;
};

}  // namespace diviml
