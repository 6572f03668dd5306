#include "diviml/solve/context.hpp"

#include <algorithm>
#include <string>

namespace diviml {

namespace {

// The cache key of the static bound, per objective.
std::string static_bound_key(const Objective& objective) { return "static_bound/" + objective.name(); }

SolveContext::Clock::time_point after(double seconds) {
  using Clock = SolveContext::Clock;
  // Past about 3e11 s the clock would overflow: no deadline then.
  if (!(seconds < 1e11)) return Clock::time_point::max();
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

SolveContext SolveContext::start(const SolveOptions& options) {
  SolveContext ctx;
  ctx.options = options;
  ctx.deadline = after(std::max(0.0, options.time_limit_s));
  return ctx;
}

double SolveContext::seconds_left() const {
  if (cancel && cancel->load(std::memory_order_relaxed)) return 0;
  if (deadline == Clock::time_point::max()) return options.time_limit_s;
  return std::max(0.0, std::chrono::duration<double>(deadline - Clock::now()).count());
}

SolveContext SolveContext::within(double seconds) const {
  SolveContext c = *this;
  const double s = std::max(0.0, std::min(seconds, seconds_left()));
  c.options.time_limit_s = s;
  c.deadline = std::min(deadline, after(s));
  return c;
}

SolveContext SolveContext::for_subproblem() const {
  SolveContext c = *this;
  c.cache = nullptr;
  c.progress = nullptr;
  c.warm_start = nullptr;
  return c;
}

double SolveContext::score(const Plan& plan) const {
  if (options.max_latency_us > 0 && cache) cache->saw_latency(plan.makespan_us);
  if (options.max_latency_us > 0 && plan.makespan_us > options.max_latency_us * (1 + 1e-9)) return kInf;
  return objective->value(plan);
}

void SolveContext::keep_static_bound(const Problem& pr, double bound_us) const {
  if (cache) cache->get<double>(pr, static_bound_key(*objective), [&] { return bound_us; });
}

double SolveContext::static_bound(const Problem& pr) const {
  return cache ? cache->get<double>(pr, static_bound_key(*objective), [] { return 0.0; }) : 0.0;
}

void SolveContext::report(const std::string& solver, const std::string& message, double incumbent, double bound,
                          int done, int total) const {
  if (progress) progress(Progress{solver, message, incumbent, bound, done, total});
}

}  // namespace diviml
