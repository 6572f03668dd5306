#include "diviml/report/html.hpp"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "copies.hpp"
#include "diviml/cost/problem.hpp"
#include "diviml/objective/memory.hpp"
#include "diviml_html_assets.hpp"  // generated from src/report/html/report.{js,css}
#include "escape.hpp"

namespace diviml {
namespace {

using nlohmann::json;

// JSON that can sit inside <script>: no "</" (it would end the element) and no "<!--".
std::string script_safe(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

json finite_or_null(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

json report_data(const Problem& pr, const Plan& plan, const HtmlComparison& comparison) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int k = pr.num_devices();
  const bool stream = plan.objective == "throughput";
  json doc = {{"graph", g.name},
              {"platform", pf.name},
              {"solver", plan.solver},
              {"objective", plan.objective},
              {"status", to_string(plan.status)},
              {"makespan_us", plan.makespan_us},
              {"lower_bound_us", plan.lower_bound_us},
              {"gap", plan.gap()},
              {"solve_time_s", plan.solve_time_s},
              {"batch", g.batch}};
  if (stream) {
    doc["period_us"] = plan.period_us;
    doc["latency_us"] = plan.latency_us;
    doc["lanes"] = plan.lanes;
    doc["throughput_per_s"] = plan.throughput_per_s();
  }
  json devices = json::array();
  for (const Device& d : pf.devices)
    devices.push_back({{"name", d.name},
                       {"kind", d.kind},
                       {"server", d.server},
                       {"memory_bytes", d.memory_bytes ? json(*d.memory_bytes) : json(nullptr)}});
  doc["devices"] = std::move(devices);
  // Nodes: id, op kind, FLOPs, and the cost on every device (null: cannot run there).
  json nodes = json::array();
  for (int v = 0; v < g.num_nodes(); ++v) {
    json cost = json::array();
    for (int d = 0; d < k; ++d) cost.push_back(pr.can_run(v, d) ? finite_or_null(pr.cost_us(v, d)) : json(nullptr));
    json n = {{"id", g.nodes[v].id}, {"op", g.nodes[v].op}, {"cost", std::move(cost)}};
    if (g.nodes[v].flops) n["flops"] = *g.nodes[v].flops;
    nodes.push_back(std::move(n));
  }
  doc["nodes"] = std::move(nodes);
  // Ops and copies as short arrays: [node, device, start, end, lane, delay] and
  // [from, to, start, end, bytes, name, producer, lane, delay]. A throughput plan's times are one
  // steady-state round; an op (or copy) with delay d works on the input injected d rounds before
  // the round's: its time in that input's own life is its time plus d rounds, less its lane's
  // injection (lane x period).
  json ops = json::array();
  std::map<std::pair<int, int>, int> delay_of;  // (lane, node)
  for (const Placement& p : plan.placements) {
    ops.push_back({p.node, p.device, p.start_us, p.end_us, stream ? p.lane : 0, stream ? p.delay : 0});
    delay_of[{stream ? p.lane : 0, p.node}] = stream ? p.delay : 0;
  }
  doc["ops"] = std::move(ops);
  json copies = json::array();
  for (const report::Copy& c : report::plan_copies(pr, plan)) {
    if (c.from < 0 || c.to < 0 || c.from >= k || c.to >= k) continue;
    // Its times are those of its owner's input: the producer's, or (a host input) its reader's.
    const int owner = c.producer >= 0 ? c.producer : (c.readers.empty() ? -1 : c.readers.front());
    auto it = delay_of.find({c.lane, owner});
    copies.push_back(
        {c.from, c.to, c.start, c.end, c.bytes, c.name, c.producer, c.lane, it == delay_of.end() ? 0 : it->second});
  }
  doc["copies"] = std::move(copies);
  const MemoryProfile mem = memory_profile(pr, plan);
  json memory = json::array();
  for (int d = 0; d < k; ++d) {
    json steps = json::array();
    for (const auto& [t, bytes] : mem.steps[d]) steps.push_back({t, bytes});
    memory.push_back({{"resident", mem.resident_bytes[d]},
                      {"peak", mem.peak_bytes[d]},
                      {"peak_at", mem.peak_at_us[d]},
                      {"steps", std::move(steps)}});
  }
  doc["memory"] = std::move(memory);
  // A throughput plan's memory is one steady-state round of R x period.
  doc["memory_span_us"] = stream ? plan.lanes * plan.period_us : plan.makespan_us;
  if (stream) doc["round_us"] = plan.lanes * plan.period_us;
  if (!comparison.tradeoff_json.empty()) doc["tradeoff"] = json::parse(comparison.tradeoff_json);
  if (!comparison.rows.empty())
    doc["comparison"] =
        json::parse(summary_json(comparison.rows, comparison.fastest_value, plan.objective, g.name, pf.name));
  json modules = json::array();
  for (const ModuleSummary& m : plan.modules) {
    const std::string how = m.segments > 1 ? std::to_string(m.segments) + " segments"
                            : m.chain      ? "chain (DP)"
                            : m.fused      ? "solved whole, fused"
                                           : "exact";
    json cuts = json::array();
    for (const auto& cut : m.cuts) {
      json names = json::array();
      for (int v : cut) names.push_back(g.nodes[v].id);
      cuts.push_back(std::move(names));
    }
    modules.push_back({{"entry", m.entry >= 0 ? json(g.nodes[m.entry].id) : json(nullptr)},
                       {"exit", m.exit >= 0 ? json(g.nodes[m.exit].id) : json(nullptr)},
                       {"size", m.size},
                       {"channels", m.channels},
                       {"how", how},
                       {"proven", m.proven},
                       {"cuts", std::move(cuts)}});
  }
  doc["modules"] = std::move(modules);
  doc["notes"] = plan.notes;
  return doc;
}

}  // namespace

std::string html_report(const Problem& problem, const Plan& plan, const HtmlComparison& comparison) {
  const json data = report_data(problem, plan, comparison);
  const std::string title =
      "DiviML: " + problem.graph().name + " on " + problem.platform().name + " (" + plan.solver + ")";
  std::string page;
  page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  page += "<title>" + report::esc(title) + "</title>\n<style>\n";
  page += html_assets::kCss;
  page += "</style>\n</head>\n<body data-status=\"loading\">\n";
  page += "<noscript>This report draws itself with JavaScript.</noscript>\n";
  page += "<main id=\"report\"></main>\n";
  page += "<script type=\"application/json\" id=\"diviml-data\">";
  page += script_safe(data.dump(-1, ' ', false, json::error_handler_t::replace));
  page += "</script>\n<script>\n";
  page += html_assets::kJs;
  page += "</script>\n</body>\n</html>\n";
  return page;
}

}  // namespace diviml
