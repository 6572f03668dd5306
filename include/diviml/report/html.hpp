// A plan as one self-contained HTML page (no network: data, script and style inline), for people
// who look at it in a browser: key figures (makespan or period, bound, gap, status), the solver
// comparison, a Gantt chart per device and per link with zoom and a tooltip (the op, its times
// and its cost on every device), memory over time per device against its capacity, split's
// modules, the solver's notes, and a table of every op with a filter.
//
// The page builds itself from a JSON block (<script type="application/json" id="diviml-data">)
// with DOM calls only (text is never parsed as HTML), then sets <body data-status="ready">
// (or "error" with the message shown). Every op is an element with data-node="ID".
#pragma once

#include <string>
#include <vector>

#include "diviml/objective/plan.hpp"
#include "diviml/report/report.hpp"

namespace diviml {

struct HtmlComparison {
  std::vector<SummaryRow> rows;  // empty: no comparison section
  double fastest_value = 0;      // the `fastest` baseline's value, for the speed-up column (0: unknown)
  // The latency-period trade-off of a throughput plan, as tradeoff_json() writes it (empty: no
  // such section).
  std::string tradeoff_json = {};
};

std::string html_report(const Problem& problem, const Plan& plan, const HtmlComparison& comparison = {});

}  // namespace diviml
