#include "diviml/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "diviml/cost/problem.hpp"
#include "diviml/objective/memory.hpp"
#include "escape.hpp"

namespace diviml {

std::string report::esc(const std::string& raw) {
  // XML 1.0 holds no control byte but tab, newline and return, and no byte that is not UTF-8,
  // even as a character reference: they are written as \xNN text (one_line), as in messages.
  const std::string s = one_line(raw);
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string report::fmt(const char* f, double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, x);
  return buf;
}

namespace {

using report::esc;
using report::fmt;

// A readable, colour-blind-friendly palette (Okabe-Ito plus a few), cycled by op kind.
const char* kPalette[] = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
                          "#CC79A7", "#999999", "#8DD3C7", "#BEBADA", "#FB8072", "#80B1D3"};

double nice_step(double span, int ticks) {
  double raw = span / std::max(1, ticks);
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) return m * p;
  return 10 * p;
}

}  // namespace

namespace {

// A throughput plan: two steady-state rounds (each lanes x period) with every op and move at its
// place in the round (t mod round, so nothing is negative), coloured by lane, the period marked
// (dashed) and the rounds (solid), each device's memory over the round, and below, one input of
// lane 0 end to end on a time axis of its own (an op with delay d runs d rounds after its
// round's injection in that input's life).
std::string stream_gantt_svg(const Problem& pr, const Plan& plan) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int k = pr.num_devices(), n = pr.num_nodes();
  const double round = std::max(plan.lanes * plan.period_us, 1e-9), window = 2 * round;
  const double left = 110, right = 30, top = 50, lane_h = 30, xfer_h = 8, mem_h = 22, gap_h = 12;
  const double width = 1100, plot_w = width - left - right;
  auto x = [&](double t) { return left + t / window * plot_w; };
  auto lane_y = [&](int d) { return top + d * (lane_h + xfer_h + mem_h + gap_h); };
  auto phase = [&](double t) { return t - std::floor(t / round) * round; };
  const char* lane_colour[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"};
  auto colour = [&](int lane) { return lane_colour[lane % static_cast<int>(std::size(lane_colour))]; };
  // Each showing of [start, end) in the window: its place in the round, then a round later; the
  // round before too when it spills over the round's end.
  auto showings = [&](double start, double end) {
    std::vector<std::pair<double, double>> out;
    const double s0 = phase(start), len = end - start;
    for (int j = -1; j < 2; ++j) {
      const double a = s0 + j * round, b = a + len;
      if (b > 0 && a < window) out.emplace_back(std::max(0.0, a), std::min(window, b));
    }
    return out;
  };
  // Lane 0's input end to end.
  std::vector<int> delay(static_cast<size_t>(plan.lanes) * n, 0);
  for (const Placement& p : plan.placements) delay[static_cast<size_t>(p.lane) * n + p.node] = p.delay;
  auto in_input = [&](double t, int lane, int node) {
    return t + delay[static_cast<size_t>(lane) * n + node] * round - lane * plan.period_us;
  };
  std::vector<int> used;
  double path_end = std::max(plan.latency_us, 1e-9);
  for (const Placement& p : plan.placements)
    if (p.lane == 0) {
      if (std::find(used.begin(), used.end(), p.device) == used.end()) used.push_back(p.device);
      path_end = std::max(path_end, in_input(p.end_us, 0, p.node));
    }
  std::sort(used.begin(), used.end());
  const double path_top = lane_y(k) + 56, path_h = 14;
  const double height = path_top + used.size() * (path_h + 2) + 60;
  auto px = [&](double t) { return left + t / path_end * plot_w; };

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << left << "\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" << esc(g.name) << " on "
    << esc(pf.name) << " - " << esc(plan.solver) << " (" << to_string(plan.status) << "): period "
    << fmt("%.1f", plan.period_us) << " us (bound " << fmt("%.1f", plan.lower_bound_us) << " us), latency "
    << fmt("%.1f", plan.latency_us) << " us, " << plan.lanes << " lane(s)</text>\n";
  s << "<text x=\"" << left << "\" y=\"36\" fill=\"#555\">two steady-state rounds of " << fmt("%.1f", round)
    << " us; dashed: every period, solid: every round; coloured by lane</text>\n";
  const double axis_y = lane_y(k) + 4;
  const double step = nice_step(window, 10);
  for (double t = 0; t <= window * (1 + 1e-9); t += step) {
    s << "<line x1=\"" << x(t) << "\" y1=\"" << top - 6 << "\" x2=\"" << x(t) << "\" y2=\"" << axis_y + 4
      << "\" stroke=\"#eee\"/>\n";
    s << "<text x=\"" << x(t) << "\" y=\"" << axis_y + 16 << "\" text-anchor=\"middle\">" << fmt("%g", t)
      << "</text>\n";
  }
  s << "<text x=\"" << x(window) << "\" y=\"" << axis_y + 30
    << "\" text-anchor=\"end\">time in the steady state (us)</text>\n";
  for (int d = 0; d < k; ++d) {
    s << "<text x=\"" << left - 8 << "\" y=\"" << lane_y(d) + lane_h / 2 + 4 << "\" text-anchor=\"end\">"
      << esc(pf.devices[d].name) << "</text>\n";
    s << "<rect x=\"" << left << "\" y=\"" << lane_y(d) << "\" width=\"" << plot_w << "\" height=\"" << lane_h
      << "\" fill=\"#f7f7f7\" stroke=\"#ccc\"/>\n";
  }
  for (int q = 1; plan.period_us > 0 && q * plan.period_us < window * (1 - 1e-9); ++q) {
    const double t = q * plan.period_us;
    const bool whole = q % plan.lanes == 0;
    s << "<line x1=\"" << x(t) << "\" y1=\"" << top - 6 << "\" x2=\"" << x(t) << "\" y2=\"" << axis_y
      << "\" stroke=\"#2f6fd6\"" << (whole ? " stroke-width=\"1.5\"" : " stroke-dasharray=\"4,3\"") << "/>\n";
  }
  const MemoryProfile mem = memory_profile(pr, plan);
  for (int d = 0; d < k; ++d) {
    const double y0 = lane_y(d) + lane_h + xfer_h, h = mem_h - 4;
    const double top_bytes = std::max({mem.peak_bytes[d], 1.0});
    auto my = [&](double b) { return y0 + h - b / top_bytes * h; };
    std::ostringstream pts;
    for (int j = 0; j < 2; ++j) {
      double last = mem.steps[d].empty() ? 0.0 : mem.steps[d].front().second;
      pts << (j ? " " : "") << x(j * round) << "," << my(last);
      for (const auto& [t, b] : mem.steps[d]) {
        pts << " " << x(j * round + std::min(t, round)) << "," << my(last) << " " << x(j * round + std::min(t, round))
            << "," << my(b);
        last = b;
      }
      pts << " " << x((j + 1) * round) << "," << my(last);
    }
    const double cap = pr.capacity_bytes(d);
    s << "<polyline points=\"" << pts.str() << "\" fill=\"none\" stroke=\"#0072B2\" stroke-width=\"1\"><title>"
      << esc(pf.devices[d].name) << ": memory held in the steady state, peak " << fmt("%.0f", mem.peak_bytes[d])
      << " bytes (weights and state " << fmt("%.0f", mem.resident_bytes[d]) << ")</title></polyline>\n";
    s << "<text x=\"" << left + 4 << "\" y=\"" << y0 + h - 2 << "\" font-size=\"9\" fill=\"#0072B2\">memory, peak "
      << bytes_text(mem.peak_bytes[d]) << (std::isfinite(cap) ? " of " + bytes_text(cap) : std::string())
      << "</text>\n";
  }
  for (const Placement& p : plan.placements) {
    const Node& v = g.nodes[p.node];
    for (const auto& [a, b] : showings(p.start_us, p.end_us))
      s << "<rect x=\"" << x(a) << "\" y=\"" << lane_y(p.device) + 2 << "\" width=\"" << std::max(0.5, x(b) - x(a))
        << "\" height=\"" << lane_h - 4 << "\" fill=\"" << colour(p.lane)
        << "\" stroke=\"#333\" stroke-width=\"0.4\"><title>" << esc(v.id) << " (" << esc(v.op) << ") on "
        << esc(pf.devices[p.device].name) << ", lane " << p.lane << ": " << fmt("%.3f", phase(p.start_us))
        << " us into the round, " << fmt("%.3f", p.end_us - p.start_us) << " us long; in its input's life at "
        << fmt("%.3f", in_input(p.start_us, p.lane, p.node)) << " us (delay " << p.delay << ")</title></rect>\n";
  }
  for (const Transfer& t : plan.transfers) {
    const Edge& e = g.edges[t.edge];
    for (const auto& [a, b] : showings(t.start_us, t.end_us))
      s << "<rect x=\"" << x(a) << "\" y=\"" << lane_y(t.from) + lane_h + 1 << "\" width=\""
        << std::max(0.5, x(b) - x(a)) << "\" height=\"" << xfer_h - 2 << "\" fill=\"" << colour(t.lane)
        << "\" opacity=\"0.6\"><title>tensor of " << esc(g.nodes[e.src].id) << " " << esc(pf.devices[t.from].name)
        << " -> " << esc(pf.devices[t.to].name) << ", lane " << t.lane << "</title></rect>\n";
  }
  // One input of lane 0, end to end.
  s << "<text x=\"" << left << "\" y=\"" << path_top - 12
    << "\" font-weight=\"bold\">one input (lane 0) end to end: " << fmt("%.1f", plan.latency_us) << " us</text>\n";
  for (size_t i = 0; i < used.size(); ++i) {
    const double y = path_top + i * (path_h + 2);
    s << "<text x=\"" << left - 8 << "\" y=\"" << y + path_h - 3 << "\" text-anchor=\"end\" font-size=\"9\">"
      << esc(pf.devices[used[i]].name) << "</text>\n";
    s << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"" << plot_w << "\" height=\"" << path_h
      << "\" fill=\"#f7f7f7\"/>\n";
  }
  for (const Placement& p : plan.placements) {
    if (p.lane != 0) continue;
    const size_t row = std::find(used.begin(), used.end(), p.device) - used.begin();
    const double a = in_input(p.start_us, 0, p.node), b = in_input(p.end_us, 0, p.node);
    s << "<rect x=\"" << px(a) << "\" y=\"" << path_top + row * (path_h + 2) << "\" width=\""
      << std::max(0.5, px(b) - px(a)) << "\" height=\"" << path_h << "\" fill=\"" << colour(0) << "\"><title>"
      << esc(g.nodes[p.node].id) << ": " << fmt("%.3f", a) << " - " << fmt("%.3f", b)
      << " us after its injection</title></rect>\n";
  }
  const double path_axis = path_top + used.size() * (path_h + 2) + 14;
  const double pstep = nice_step(path_end, 10);
  for (double t = 0; t <= path_end * (1 + 1e-9); t += pstep)
    s << "<text x=\"" << px(t) << "\" y=\"" << path_axis << "\" text-anchor=\"middle\">" << fmt("%g", t) << "</text>\n";
  s << "<text x=\"" << px(path_end) << "\" y=\"" << path_axis + 14
    << "\" text-anchor=\"end\">time since the input's injection (us)</text>\n";
  s << "</svg>\n";
  return s.str();
}

}  // namespace

std::string gantt_svg(const Problem& pr, const Plan& plan) {
  if (plan.objective == "throughput") return stream_gantt_svg(pr, plan);
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int k = pr.num_devices();
  // Latency plans get a memory band under each device: what it holds over time (memory.hpp).
  const bool memory = plan.objective != "throughput";
  const double left = 110, right = 30, top = 50, lane_h = 36, xfer_h = 10, gap_h = 14, mem_h = memory ? 24 : 0;
  const double width = 1100;
  const double span = std::max(plan.makespan_us, 1e-9);
  const double plot_w = width - left - right;
  auto x = [&](double t) { return left + t / span * plot_w; };
  auto lane_y = [&](int d) { return top + d * (lane_h + xfer_h + mem_h + gap_h); };
  std::map<std::string, int> color_of;
  for (const Placement& p : plan.placements) color_of.emplace(g.nodes[p.node].op, 0);
  int c = 0;
  for (auto& [op, idx] : color_of) idx = c++ % static_cast<int>(std::size(kPalette));
  const double legend_y = lane_y(k) + 30;
  const int per_row = 6;
  const double height = legend_y + (static_cast<double>(color_of.size() + 1) / per_row + 1) * 20 + 20;

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"11\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << left << "\" y=\"20\" font-size=\"14\" font-weight=\"bold\">" << esc(g.name) << " on "
    << esc(pf.name) << " - " << esc(plan.solver) << " (" << to_string(plan.status) << "), makespan "
    << fmt("%.1f", plan.makespan_us) << " us, lower bound " << fmt("%.1f", plan.lower_bound_us) << " us</text>\n";
  // Time axis.
  double step = nice_step(span, 10);
  double axis_y = lane_y(k) + 4;
  s << "<line x1=\"" << left << "\" y1=\"" << axis_y << "\" x2=\"" << x(span) << "\" y2=\"" << axis_y
    << "\" stroke=\"#333\"/>\n";
  for (double t = 0; t <= span * (1 + 1e-9); t += step) {
    s << "<line x1=\"" << x(t) << "\" y1=\"" << top - 6 << "\" x2=\"" << x(t) << "\" y2=\"" << axis_y + 4
      << "\" stroke=\"#ddd\"/>\n";
    s << "<text x=\"" << x(t) << "\" y=\"" << axis_y + 16 << "\" text-anchor=\"middle\">" << fmt("%g", t)
      << "</text>\n";
  }
  s << "<text x=\"" << x(span) << "\" y=\"" << axis_y + 30 << "\" text-anchor=\"end\">time (us)</text>\n";
  for (int d = 0; d < k; ++d) {
    double y = lane_y(d);
    s << "<text x=\"" << left - 8 << "\" y=\"" << y + lane_h / 2 + 4 << "\" text-anchor=\"end\">"
      << esc(pf.devices[d].name) << "</text>\n";
    s << "<rect x=\"" << left << "\" y=\"" << y << "\" width=\"" << plot_w << "\" height=\"" << lane_h
      << "\" fill=\"#f7f7f7\" stroke=\"#ccc\"/>\n";
  }
  if (memory) {
    const MemoryProfile mem = memory_profile(pr, plan);
    for (int d = 0; d < k; ++d) {
      const double y0 = lane_y(d) + lane_h + xfer_h, h = mem_h - 4;
      const double top_bytes = std::max(mem.peak_bytes[d], 1.0);
      auto my = [&](double b) { return y0 + h - b / top_bytes * h; };
      std::ostringstream pts;
      double last = mem.steps[d].empty() ? 0.0 : mem.steps[d].front().second;
      pts << left << "," << my(last);
      for (const auto& [t, b] : mem.steps[d]) {
        pts << " " << x(std::min(t, span)) << "," << my(last) << " " << x(std::min(t, span)) << "," << my(b);
        last = b;
      }
      pts << " " << x(span) << "," << my(last);
      s << "<polyline points=\"" << pts.str() << "\" fill=\"none\" stroke=\"#0072B2\" stroke-width=\"1\"><title>"
        << esc(pf.devices[d].name) << ": memory held over time, peak " << fmt("%.0f", mem.peak_bytes[d])
        << " bytes (resident " << fmt("%.0f", mem.resident_bytes[d]) << ")</title></polyline>\n";
      const double cap = pr.capacity_bytes(d);
      s << "<text x=\"" << left - 8 << "\" y=\"" << y0 + h << "\" text-anchor=\"end\" font-size=\"9\">peak "
        << fmt("%.3g", mem.peak_bytes[d] / 1048576.0) << " MiB"
        << (std::isfinite(cap) ? " / " + fmt("%.3g", cap / 1048576.0) : std::string()) << "</text>\n";
    }
  }
  for (const Placement& p : plan.placements) {
    const Node& v = g.nodes[p.node];
    double y = lane_y(p.device);
    double w = std::max(0.5, x(p.end_us) - x(p.start_us));
    s << "<rect x=\"" << x(p.start_us) << "\" y=\"" << y + 2 << "\" width=\"" << w << "\" height=\"" << lane_h - 4
      << "\" fill=\"" << kPalette[color_of[v.op]] << "\" stroke=\"#333\" stroke-width=\"0.4\"><title>" << esc(v.id)
      << " (" << esc(v.op) << ") on " << esc(pf.devices[p.device].name) << ": " << fmt("%.3f", p.start_us) << " - "
      << fmt("%.3f", p.end_us) << " us</title></rect>\n";
    if (w > 7.0 * static_cast<double>(v.id.size()))
      s << "<text x=\"" << x(p.start_us) + w / 2 << "\" y=\"" << y + lane_h / 2 + 4
        << "\" text-anchor=\"middle\" pointer-events=\"none\">" << esc(v.id) << "</text>\n";
  }
  for (const Transfer& t : plan.transfers) {
    const Edge& e = g.edges[t.edge];
    double y = lane_y(t.from) + lane_h + 1;
    double w = std::max(0.5, x(t.end_us) - x(t.start_us));
    s << "<rect x=\"" << x(t.start_us) << "\" y=\"" << y << "\" width=\"" << w << "\" height=\"" << xfer_h - 2
      << "\" fill=\"#444\" opacity=\"0.55\"><title>transfer " << esc(g.nodes[e.src].id) << " -> "
      << esc(g.nodes[e.dst].id) << " " << esc(pf.devices[t.from].name) << " -> " << esc(pf.devices[t.to].name) << ", "
      << fmt("%.0f", e.bytes) << " bytes, " << fmt("%.3f", t.start_us) << " - " << fmt("%.3f", t.end_us)
      << " us</title></rect>\n";
    double ty = lane_y(t.to) + (t.to > t.from ? 2 : lane_h - 2);
    s << "<line x1=\"" << x(t.end_us) << "\" y1=\"" << y + (xfer_h - 2) / 2 << "\" x2=\""
      << x(plan.placements[e.dst].start_us) << "\" y2=\"" << ty
      << "\" stroke=\"#444\" stroke-width=\"0.6\" stroke-dasharray=\"3,2\"/>\n";
  }
  for (const HostTransfer& t : plan.host_transfers) {
    int lane = t.to_host ? t.from : t.to;
    double y = lane_y(lane) + lane_h + 1;
    double w = std::max(0.5, x(t.end_us) - x(t.start_us));
    s << "<rect x=\"" << x(t.start_us) << "\" y=\"" << y << "\" width=\"" << w << "\" height=\"" << xfer_h - 2
      << "\" fill=\"#8B0000\" opacity=\"0.55\"><title>host " << (t.to_host ? "output of " : "input of ")
      << esc(g.nodes[t.node].id) << ", " << fmt("%.0f", t.bytes) << " bytes</title></rect>\n";
  }
  // Legend.
  int i = 0;
  auto legend = [&](const std::string& label, const char* fill, double opacity) {
    double lx = left + (i % per_row) * 160, ly = legend_y + (i / per_row) * 20;
    s << "<rect x=\"" << lx << "\" y=\"" << ly << "\" width=\"14\" height=\"12\" fill=\"" << fill << "\" opacity=\""
      << opacity << "\" stroke=\"#333\" stroke-width=\"0.4\"/>\n";
    s << "<text x=\"" << lx + 19 << "\" y=\"" << ly + 10 << "\">" << esc(label) << "</text>\n";
    ++i;
  };
  for (const auto& [op, idx] : color_of) legend(op, kPalette[idx], 1.0);
  legend("transfer (sender's band)", "#444", 0.55);
  if (memory) legend("memory held (peak-scaled)", "#0072B2", 1.0);
  if (!plan.host_transfers.empty()) legend("host input/output", "#8B0000", 0.55);
  s << "</svg>\n";
  return s.str();
}

SummaryRow summary_row(const Plan& plan) {
  // The objective's value: the makespan, or the period of a throughput plan.
  return SummaryRow{plan.solver, to_string(plan.status), plan.value(), plan.lower_bound_us, plan.solve_time_s, ""};
}

std::string summary_table(const std::vector<SummaryRow>& rows, double fastest_us, const std::string& value_name) {
  std::ostringstream s;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-10s %-10s %14s %14s %8s %9s %10s\n", "solver", "status", value_name.c_str(),
                "lower_bound_us", "gap", "speedup", "time_s");
  s << buf;
  for (const SummaryRow& r : rows) {
    if (!r.error.empty()) {
      std::snprintf(buf, sizeof buf, "%-10s %-10s %s\n", r.solver.c_str(), "error", r.error.c_str());
      s << buf;
      continue;
    }
    double gap = r.makespan_us > 0 ? std::max(0.0, (r.makespan_us - r.lower_bound_us) / r.makespan_us) : 0.0;
    std::string speed = fastest_us > 0 && r.makespan_us > 0 ? fmt("%.2fx", fastest_us / r.makespan_us) : "-";
    std::snprintf(buf, sizeof buf, "%-10s %-10s %14.1f %14.1f %7.1f%% %9s %10.3f\n", r.solver.c_str(), r.status.c_str(),
                  r.makespan_us, r.lower_bound_us, gap * 100, speed.c_str(), r.solve_time_s);
    s << buf;
  }
  return s.str();
}

std::string summary_json(const std::vector<SummaryRow>& rows, double fastest_value, const std::string& objective,
                         const std::string& graph, const std::string& platform) {
  nlohmann::json doc = {{"graph", graph}, {"platform", platform}, {"objective", objective}};
  const std::string value = objective == "throughput" ? "period_us" : "makespan_us";
  nlohmann::json out = nlohmann::json::array();
  for (const SummaryRow& r : rows) {
    nlohmann::json row = {{"solver", r.solver}, {"status", r.error.empty() ? r.status : "error"}};
    if (!r.error.empty()) {
      row["error"] = r.error;
    } else {
      row[value] = r.makespan_us;
      row["lower_bound_us"] = r.lower_bound_us;
      row["gap"] = r.makespan_us > 0 ? std::max(0.0, (r.makespan_us - r.lower_bound_us) / r.makespan_us) : 0.0;
      if (fastest_value > 0 && r.makespan_us > 0) row["speedup"] = fastest_value / r.makespan_us;
      row["solve_time_s"] = r.solve_time_s;
    }
    out.push_back(std::move(row));
  }
  doc["solvers"] = std::move(out);
  return doc.dump(1) + "\n";
}

std::string tradeoff_table(const Tradeoff& t) {
  std::ostringstream s;
  char buf[512];
  std::snprintf(buf, sizeof buf, "latency plan: makespan %.1f us (%s, %s)\n", t.latency.makespan_us,
                t.latency.solver.c_str(), to_string(t.latency.status));
  s << buf;
  std::snprintf(buf, sizeof buf, "%-20s %12s %14s %12s %10s %6s %10s\n", "latency limit", "period_us", "lower_bound_us",
                "latency_us", "inputs/s", "lanes", "status");
  s << buf;
  for (const TradeoffPoint& p : t.points) {
    const std::string limit =
        p.factor > 0 ? fmt("%gx", p.factor) + " (" + fmt("%.1f", p.max_latency_us) + " us)" : std::string("none");
    if (!p.plan) {
      std::snprintf(buf, sizeof buf, "%-20s no plan: %s\n", limit.c_str(), p.error.c_str());
      s << buf;
      continue;
    }
    std::snprintf(buf, sizeof buf, "%-20s %12.1f %14.1f %12.1f %10.1f %6d %10s\n", limit.c_str(), p.plan->period_us,
                  p.plan->lower_bound_us, p.plan->latency_us, p.plan->throughput_per_s(), p.plan->lanes,
                  to_string(p.plan->status));
    s << buf;
  }
  return s.str();
}

std::string tradeoff_json(const Problem& pr, const Tradeoff& t) {
  nlohmann::json doc = {{"graph", pr.graph().name}, {"platform", pr.platform().name}};
  doc["latency_plan"] = {{"solver", t.latency.solver},
                         {"status", to_string(t.latency.status)},
                         {"makespan_us", t.latency.makespan_us},
                         {"lower_bound_us", t.latency.lower_bound_us}};
  nlohmann::json points = nlohmann::json::array();
  for (const TradeoffPoint& p : t.points) {
    nlohmann::json j = {{"factor", p.factor},
                        {"max_latency_us", p.max_latency_us > 0 ? nlohmann::json(p.max_latency_us) : nullptr}};
    if (p.plan) {
      j["period_us"] = p.plan->period_us;
      j["lower_bound_us"] = p.plan->lower_bound_us;
      j["latency_us"] = p.plan->latency_us;
      j["throughput_per_s"] = p.plan->throughput_per_s();
      j["lanes"] = p.plan->lanes;
      j["status"] = to_string(p.plan->status);
      j["gap"] = p.plan->gap();
    } else {
      j["error"] = p.error;
    }
    points.push_back(std::move(j));
  }
  doc["points"] = std::move(points);
  return doc.dump(1) + "\n";
}

Result<std::string> cost_comparison(const Graph& g, const Platform& pf, const std::string& device) {
  int d = pf.find(device);
  if (d < 0) return fail("platform '" + pf.name + "' has no device '" + device + "'");
  struct Sum {
    int count = 0;
    double measured = 0, model = 0;
  };
  std::map<std::string, Sum> by_op;
  Sum total;
  int skipped = 0;
  for (const Node& v : g.nodes) {
    auto it = v.cost_us.find(device);
    if (it == v.cost_us.end() || !it->second || (!v.flops && !v.bytes_accessed)) {
      ++skipped;
      continue;
    }
    Result<double> r = roofline_us(v, pf.devices[d]);
    if (!r) return r.error();
    Sum& s = by_op[v.op];
    s.count++, s.measured += *it->second, s.model += *r;
    total.count++, total.measured += *it->second, total.model += *r;
  }
  if (total.count == 0) return fail("graph '" + g.name + "' has no profiled cost for device '" + device + "'");
  std::ostringstream out;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-24s %6s %14s %14s %9s\n", "op", "nodes", "measured_us", "roofline_us",
                "model/meas");
  out << buf;
  auto line = [&](const std::string& op, const Sum& s) {
    std::snprintf(buf, sizeof buf, "%-24s %6d %14.1f %14.1f %9.2f\n", op.c_str(), s.count, s.measured, s.model,
                  s.measured > 0 ? s.model / s.measured : 0.0);
    out << buf;
  };
  for (const auto& [op, s] : by_op) line(op, s);
  line("total", total);
  if (skipped) out << skipped << " node(s) without a profiled cost or work figures left out\n";
  return out.str();
}

}  // namespace diviml
