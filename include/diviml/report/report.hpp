// Human-facing output: an SVG Gantt chart of a plan and a plain-text comparison table.
#pragma once

#include <string>
#include <vector>

#include "diviml/objective/plan.hpp"
#include "diviml/solve/tradeoff.hpp"

namespace diviml {

// One lane per device (ops coloured by op kind, with a legend), a thin band under each lane
// for the transfers it sends, and an arrow from each transfer to its receiving node.
std::string gantt_svg(const Problem& problem, const Plan& plan);

struct SummaryRow {
  std::string solver;
  std::string status;  // plan status, or "error"
  double makespan_us = 0;
  double lower_bound_us = 0;
  double solve_time_s = 0;
  std::string error;  // when the solver failed
};

// Fixed-width table: solver, status, makespan, lower bound, gap, speed-up over the
// `fastest` baseline (when given, > 0), solve time.
// `value_name` heads the value column: makespan_us, or period_us for throughput (the speed-up
// column is then the throughput over the fastest single device).
std::string summary_table(const std::vector<SummaryRow>& rows, double fastest_makespan_us,
                          const std::string& value_name = "makespan_us");
// The same rows for machines (`compare --json`): {"graph", "platform", "objective", "solvers":
// [{"solver", "status", "makespan_us" or "period_us", "lower_bound_us", "gap" (a fraction),
// "speedup" (over `fastest`, when known), "solve_time_s"} or {"solver", "status": "error",
// "error"}]}.
std::string summary_json(const std::vector<SummaryRow>& rows, double fastest_value, const std::string& objective,
                         const std::string& graph, const std::string& platform);
SummaryRow summary_row(const Plan& plan);

// The latency-period trade-off (solve/tradeoff.hpp) for people: the latency plan's makespan L,
// then per limit (a factor of L, or none) the best period found, its bound, one input's latency,
// inputs per second, lanes and status, or why there is none.
std::string tradeoff_table(const Tradeoff& tradeoff);
// The same for machines (`compare --tradeoff --json`, the HTML report, Python): {"graph",
// "platform", "latency_plan": {"solver", "status", "makespan_us", "lower_bound_us"}, "points":
// [{"factor" (0: no limit), "max_latency_us" (null: none), "period_us", "lower_bound_us",
// "latency_us", "throughput_per_s", "lanes", "status", "gap"} or {"factor", "max_latency_us",
// "error"}]}.
std::string tradeoff_json(const Problem& problem, const Tradeoff& tradeoff);

// Measured against modelled: per op kind, the sum of the profiled costs on `device` and the
// sum of the roofline's estimates for the same nodes, and their ratio. Nodes without a
// profiled cost there, or without flops/bytes_accessed, are left out (and counted).
Result<std::string> cost_comparison(const Graph& graph, const Platform& platform, const std::string& device);

}  // namespace diviml
