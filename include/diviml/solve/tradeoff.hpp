// The trade-off between throughput and latency (docs/formulation.md, "Trade-off"): a serving
// engineer picks a point by its latency objective. The latency plan's makespan L is solved first,
// then the best throughput plan within each latency limit (a factor of L, or none).
//
// @code
//   diviml::Result<diviml::Tradeoff> t = diviml::latency_tradeoff(problem, options);
//   for (const diviml::TradeoffPoint& p : t->points)
//     if (p.plan) std::printf("%g x: period %g us\n", p.factor, p.plan->period_us);
// @endcode
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "diviml/solve/solve.hpp"

namespace diviml {

struct TradeoffPoint {
  double factor = 0;          // the latency limit over the latency plan's makespan; 0: no limit
  double max_latency_us = 0;  // that limit in microseconds (0: none)
  std::optional<Plan> plan;   // the best throughput plan found within it
  std::string error;          // why there is none (a limit below what any plan found reaches)
};

struct Tradeoff {
  Plan latency;  // the latency objective's plan (its makespan is L)
  std::vector<TradeoffPoint> points;
};

// The factors of L tried by default: 1, 1.5, 2 and 4 times, then no limit.
inline const std::vector<double> kTradeoffFactors = {1, 1.5, 2, 4, 0};

// `auto` for latency, then `auto` for throughput under each limit, each solve within
// options.time_limit_s (so the whole takes about (1 + factors) times it); the latency plan is
// handed to each throughput solve as its start (SolveHooks::warm_start: the plan of least latency,
// paced). Fails only when the latency solve does (a limit that no plan meets is a point with an
// error, not a failure).
Result<Tradeoff> latency_tradeoff(const Problem& problem, const SolveOptions& options,
                                  const std::vector<double>& factors = kTradeoffFactors, const SolveHooks& hooks = {});

}  // namespace diviml
