// Human-facing output: an SVG Gantt chart of a plan and a plain-text comparison table.
#pragma once

#include <string>
#include <vector>

#include "diviml/objective/plan.hpp"

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

// Measured against modelled: per op kind, the sum of the profiled costs on `device` and the
// sum of the roofline's estimates for the same nodes, and their ratio. Nodes without a
// profiled cost there, or without flops/bytes_accessed, are left out (and counted).
Result<std::string> cost_comparison(const Graph& graph, const Platform& platform, const std::string& device);

}  // namespace diviml
