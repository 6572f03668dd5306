#include "diviml/report/serve_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <sstream>

#include "escape.hpp"

namespace diviml {
namespace {

using nlohmann::json;

json num(double x) { return std::isfinite(x) ? json(x) : json(nullptr); }

using report::fmt;

std::string devices_text(const Platform& pf, const ServeStage& st) {
  const std::string& first = pf.devices[st.devices.front()].name;
  if (st.devices.size() == 1) return first;
  return first + ".." + pf.devices[st.devices.back()].name;
}

json stage_json(const Platform& pf, const ServeStage& st) {
  json devices = json::array();
  for (int d : st.devices) devices.push_back(pf.devices[d].name);
  return {{"server", st.server},
          {"kind", st.kind},
          {"tp", st.tp},
          {"devices", devices},
          {"layers", {st.first_layer, st.first_layer + st.layers - 1}},
          {"embedding", st.embed},
          {"head", st.head},
          {"decode_us", st.decode_us},
          {"prefill_us", st.prefill_us},
          {"memory_per_gpu",
           {{"weights_bytes", st.weights_bytes},
            {"kv_cache_bytes", st.kv_bytes},
            {"activation_bytes", st.activation_bytes},
            {"capacity_bytes", st.capacity_bytes}}}};
}

json layout_json(const Platform& pf, const ServeLayout& l, bool with_stages) {
  json j = {{"name", l.name},
            {"tokens_per_s", l.tokens_per_s},
            {"requests_per_s", l.requests_per_s},
            {"ttft_ms", l.tokens_per_s > 0 ? num(l.ttft_us / 1e3) : json(nullptr)},
            {"tpot_ms", l.tokens_per_s > 0 ? num(l.tpot_us / 1e3) : json(nullptr)},
            {"batch", l.batch},
            {"description", l.note}};
  json pipes = json::array();
  for (const ServePipeline& p : l.pipelines) {
    json pj = {{"role", to_string(p.role)}, {"requests_per_s", p.requests_per_s}, {"tokens_per_s", p.tokens_per_s}};
    if (p.role != ServeRole::kPrefill) {
      pj["batch"] = p.batch;
      pj["micro_batches"] = p.micro_batches;
      pj["tpot_ms"] = p.tpot_us / 1e3;
      pj["decode_step_us"] = p.decode_step_us;
      pj["decode_period_us"] = p.decode_period_us;
    }
    if (p.role != ServeRole::kDecode) {
      pj["prefill_batch"] = p.prefill_batch;
      pj["ttft_ms"] = p.ttft_us / 1e3;
      pj["prefill_latency_us"] = p.prefill_latency_us;
      pj["prefill_period_us"] = p.prefill_period_us;
    }
    if (p.role == ServeRole::kPrefill) pj["kv_send_us"] = num(p.kv_send_us);
    json stages = json::array();
    for (const ServeStage& st : p.stages) {
      if (with_stages) {
        stages.push_back(stage_json(pf, st));
      } else {
        stages.push_back({{"devices", devices_text(pf, st)},
                          {"tp", st.tp},
                          {"layers", {st.first_layer, st.first_layer + st.layers - 1}}});
      }
    }
    pj["stages"] = std::move(stages);
    pipes.push_back(std::move(pj));
  }
  j["pipelines"] = std::move(pipes);
  return j;
}

std::string role_mix(const ServeLayout& l) {
  bool col = false, dis = false;
  for (const ServePipeline& p : l.pipelines) (p.role == ServeRole::kColocated ? col : dis) = true;
  return col && dis ? "mixed" : dis ? "disaggregated" : "colocated";
}

}  // namespace

std::string serve_json(const Platform& pf, const ServeRequest& r, const ServeResult& res, const ServeFileNames& files) {
  const ServeLayout& l = res.layout;
  const TransformerSpec& m = r.model;
  json doc = {{"format", "diviml.serve/1"},
              {"model",
               {{"name", r.model_name},
                {"layers", m.layers},
                {"d_model", m.d_model},
                {"heads", m.heads},
                {"kv_heads", m.kv_heads > 0 ? m.kv_heads : m.heads},
                {"ffn", m.ffn > 0 ? m.ffn : 4 * m.d_model},
                {"gated_mlp", m.ffn > 0},
                {"vocab", m.vocab},
                {"bytes_per_value", m.bytes_per_value},
                {"weights_bytes", res.weights_bytes},
                {"kv_bytes_per_token", res.kv_bytes_per_token}}},
              {"platform", pf.name},
              {"workload",
               {{"prompt_tokens", r.prompt},
                {"output_tokens", r.output},
                {"ttft_slo_ms", r.ttft_ms},
                {"tpot_slo_ms", r.tpot_ms},
                {"memory_fraction", r.memory_fraction},
                {"decode_context", res.context},
                {"mode", r.mode}}},
              {"tokens_per_s", l.tokens_per_s},
              {"bound_tokens_per_s", res.bound_tokens_per_s},
              {"gap", res.bound_tokens_per_s > 0 ? 1 - l.tokens_per_s / res.bound_tokens_per_s : 0.0},
              {"requests_per_s", l.requests_per_s},
              {"ttft_ms", l.ttft_us / 1e3},
              {"tpot_ms", l.tpot_us / 1e3},
              {"batch", l.batch},
              {"mode", role_mix(l)},
              {"solve_time_s", res.solve_time_s},
              {"pipelines_evaluated", res.evaluations}};
  json layout = layout_json(pf, l, true);
  doc["pipelines"] = layout["pipelines"];
  if (!l.note.empty()) doc["note"] = l.note;
  json mem = json::array();
  for (const ServeDeviceMemory& d : serving_memory(l))
    mem.push_back({{"device", pf.devices[d.device].name},
                   {"pipeline", d.pipeline},
                   {"stage", d.stage},
                   {"weights_bytes", d.weights_bytes},
                   {"kv_cache_bytes", d.kv_bytes},
                   {"activation_bytes", d.activation_bytes},
                   {"used_bytes", d.weights_bytes + d.kv_bytes + d.activation_bytes},
                   {"capacity_bytes", d.capacity_bytes}});
  doc["devices"] = std::move(mem);
  json unused = json::array();
  for (int d = 0; d < pf.num_devices(); ++d) {
    bool used = false;
    for (const ServePipeline& p : l.pipelines)
      for (const ServeStage& st : p.stages) used = used || std::count(st.devices.begin(), st.devices.end(), d) > 0;
    if (!used && d != pf.host) unused.push_back(pf.devices[d].name);
  }
  doc["unused_devices"] = std::move(unused);
  json bl = json::array();
  for (const ServeLayout& b : res.baselines) {
    json j = layout_json(pf, b, false);
    j["ratio"] = b.tokens_per_s > 0 ? json(l.tokens_per_s / b.tokens_per_s) : json(nullptr);
    bl.push_back(std::move(j));
  }
  doc["baselines"] = std::move(bl);
  json passes = json::array();
  for (size_t i = 0; i < res.passes.size(); ++i) {
    const ServePass& p = res.passes[i];
    json j = {{"pipeline", p.pipeline}, {"phase", p.phase}, {"objective", p.plan.objective}};
    if (i < files.graphs.size()) j["graph"] = files.graphs[i];
    if (i < files.plans.size()) j["plan"] = files.plans[i];
    if (p.plan.objective == "throughput") {
      j["period_us"] = p.plan.period_us;
      j["latency_us"] = p.plan.latency_us;
    } else {
      j["makespan_us"] = p.plan.makespan_us;
    }
    passes.push_back(std::move(j));
  }
  doc["plans"] = {{"platform", files.platform}, {"passes", std::move(passes)}};
  if (!files.html.empty()) doc["html"] = files.html;
  return doc.dump(1) + "\n";
}

std::string serve_table(const Platform& pf, const ServeRequest& r, const ServeResult& res) {
  std::ostringstream o;
  const ServeLayout& l = res.layout;
  o << "serving " << (r.model_name.empty() ? "the model" : r.model_name) << " on " << pf.name << ": prompt " << r.prompt
    << ", output " << r.output << ", TTFT <= " << fmt("%g", r.ttft_ms) << " ms, TPOT <= " << fmt("%g", r.tpot_ms)
    << " ms\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-18s %12s %9s %9s %7s %7s\n", "layout", "tokens/s", "TTFT_ms", "TPOT_ms", "batch",
                "ours/x");
  o << line;
  auto row = [&](const ServeLayout& x) {
    if (x.tokens_per_s <= 0) {
      std::snprintf(line, sizeof line, "%-18s %12s %9s %9s %7s %7s  %s\n", x.name.c_str(), "-", "-", "-", "-", "-",
                    x.note.c_str());
    } else {
      std::snprintf(line, sizeof line, "%-18s %12.1f %9.1f %9.2f %7d %7.2f\n", x.name.c_str(), x.tokens_per_s,
                    x.ttft_us / 1e3, x.tpot_us / 1e3, x.batch, l.tokens_per_s / x.tokens_per_s);
    }
    o << line;
  };
  row(l);
  for (const ServeLayout& b : res.baselines) row(b);
  std::snprintf(line, sizeof line, "%-18s %12.1f   (ours within %.1f%% of it)\n", "bound", res.bound_tokens_per_s,
                100 * (1 - l.tokens_per_s / res.bound_tokens_per_s));
  o << line;
  for (size_t i = 0; i < l.pipelines.size(); ++i) {
    const ServePipeline& p = l.pipelines[i];
    o << "pipeline " << i << " (" << to_string(p.role) << ")";
    if (p.role != ServeRole::kPrefill) o << ": batch " << p.batch << " in " << p.micro_batches << " micro-batches";
    if (p.role == ServeRole::kPrefill) o << ": " << p.prefill_batch << " prompt(s) per pass";
    o << fmt(", %.1f tokens/s\n", p.tokens_per_s);
    for (const ServeStage& st : p.stages) {
      std::snprintf(line, sizeof line, "  %-28s TP %d  layers %d-%d%s%s  %.1f/%.1f GB per GPU\n",
                    devices_text(pf, st).c_str(), st.tp, st.first_layer, st.first_layer + st.layers - 1,
                    st.embed ? " +embed" : "", st.head ? " +head" : "",
                    (st.weights_bytes + st.kv_bytes + st.activation_bytes) / 1e9, st.capacity_bytes / 1e9);
      o << line;
    }
  }
  std::snprintf(line, sizeof line, "solved in %.1f s (%ld pipelines evaluated)\n", res.solve_time_s, res.evaluations);
  o << line;
  return o.str();
}

std::string serve_html(const Platform& pf, const ServeRequest& r, const ServeResult& res, const ServeFileNames& files) {
  using report::esc;
  const ServeLayout& l = res.layout;
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>DiviML serving: " << esc(r.model_name)
    << " on " << esc(pf.name) << "</title>\n<style>"
    << "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0}"
    << "td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td.l,th.l{text-align:left}"
    << ".w{fill:#4477aa}.k{fill:#ee8866}.a{fill:#bbcc33}.cap{stroke:#222;stroke-width:2}.bar{fill:#4477aa}"
    << ".base{fill:#aaaaaa}.bound{fill:none;stroke:#222;stroke-dasharray:4 3}</style></head><body>\n";
  o << "<h1>" << esc(r.model_name) << " on " << esc(pf.name) << "</h1>\n<p id=\"summary\">"
    << fmt("%.1f", l.tokens_per_s) << " output tokens/s (bound " << fmt("%.1f", res.bound_tokens_per_s) << ", within "
    << fmt("%.1f", 100 * (1 - l.tokens_per_s / res.bound_tokens_per_s)) << "%), TTFT " << fmt("%.1f", l.ttft_us / 1e3)
    << " ms (objective " << fmt("%g", r.ttft_ms) << "), TPOT " << fmt("%.2f", l.tpot_us / 1e3) << " ms (objective "
    << fmt("%g", r.tpot_ms) << "), " << l.batch << " sequences decoding; prompt " << r.prompt << ", output " << r.output
    << " tokens; solved in " << fmt("%.1f", res.solve_time_s) << " s.</p>\n";
  // Tokens per second: ours, the baselines, the bound.
  std::vector<const ServeLayout*> rows = {&l};
  for (const ServeLayout& b : res.baselines) rows.push_back(&b);
  const double top = std::max(res.bound_tokens_per_s, 1e-9);
  const int W = 520, H = 26 * static_cast<int>(rows.size()) + 30;
  o << "<h2>Tokens per second</h2>\n<svg id=\"tokens\" width=\"" << W + 260 << "\" height=\"" << H << "\">\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const double w = W * rows[i]->tokens_per_s / top;
    const int y = 10 + 26 * static_cast<int>(i);
    o << "<text x=\"0\" y=\"" << y + 15 << "\">" << esc(rows[i]->name) << "</text><rect class=\""
      << (i == 0 ? "bar" : "base") << "\" x=\"150\" y=\"" << y << "\" width=\"" << fmt("%.1f", w)
      << "\" height=\"20\"/><text x=\"" << fmt("%.1f", 155 + w) << "\" y=\"" << y + 15 << "\">"
      << (rows[i]->tokens_per_s > 0 ? fmt("%.0f", rows[i]->tokens_per_s) : std::string("none")) << "</text>\n";
  }
  o << "<line class=\"bound\" x1=\"" << 150 + W << "\" y1=\"0\" x2=\"" << 150 + W << "\" y2=\"" << H << "\"/><text x=\""
    << 155 + W << "\" y=\"" << H - 4 << "\">bound " << fmt("%.0f", res.bound_tokens_per_s) << "</text></svg>\n";
  // Pipelines.
  o << "<h2>Layout</h2>\n<table id=\"pipelines\"><tr><th>pipeline</th><th class=\"l\">role</th><th "
       "class=\"l\">GPUs</th>"
       "<th>TP</th><th>layers</th><th>batch (prefill: prompts per pass)</th><th>micro-batches</th><th>TTFT "
       "ms</th><th>TPOT ms</th><th>tokens/s</th></tr>\n";
  for (size_t i = 0; i < l.pipelines.size(); ++i) {
    const ServePipeline& p = l.pipelines[i];
    for (size_t s = 0; s < p.stages.size(); ++s) {
      const ServeStage& st = p.stages[s];
      o << "<tr>";
      if (s == 0)
        o << "<td rowspan=\"" << p.stages.size() << "\">" << i << "</td><td class=\"l\" rowspan=\"" << p.stages.size()
          << "\">" << to_string(p.role) << "</td>";
      o << "<td class=\"l\">" << esc(devices_text(pf, st)) << " (" << esc(st.kind) << ")</td><td>" << st.tp
        << "</td><td>" << st.first_layer << "-" << st.first_layer + st.layers - 1 << "</td>";
      if (s == 0)
        o << "<td rowspan=\"" << p.stages.size() << "\">"
          << (p.role == ServeRole::kPrefill ? std::to_string(p.prefill_batch) : std::to_string(p.batch))
          << "</td><td rowspan=\"" << p.stages.size() << "\">"
          << (p.role == ServeRole::kPrefill ? std::string() : std::to_string(p.micro_batches)) << "</td><td rowspan=\""
          << p.stages.size() << "\">" << (p.role == ServeRole::kDecode ? "" : fmt("%.1f", p.ttft_us / 1e3))
          << "</td><td rowspan=\"" << p.stages.size() << "\">"
          << (p.role == ServeRole::kPrefill ? "" : fmt("%.2f", p.tpot_us / 1e3)) << "</td><td rowspan=\""
          << p.stages.size() << "\">" << fmt("%.1f", p.tokens_per_s) << "</td>";
      o << "</tr>\n";
    }
  }
  o << "</table>\n";
  // Memory per GPU.
  const std::vector<ServeDeviceMemory> mem = serving_memory(l);
  double most = 1;
  for (const ServeDeviceMemory& d : mem)
    most = std::max({most, d.capacity_bytes, d.weights_bytes + d.kv_bytes + d.activation_bytes});
  o << "<h2>Memory per GPU</h2>\n<p><svg width=\"12\" height=\"12\"><rect class=\"w\" width=\"12\" "
       "height=\"12\"/></svg> weights "
       "<svg width=\"12\" height=\"12\"><rect class=\"k\" width=\"12\" height=\"12\"/></svg> KV cache "
       "<svg width=\"12\" height=\"12\"><rect class=\"a\" width=\"12\" height=\"12\"/></svg> activations; the black "
       "tick is "
       "the memory the server may use</p>\n<svg id=\"memory\" width=\""
    << W + 330 << "\" height=\"" << 18 * mem.size() + 10 << "\">\n";
  for (size_t i = 0; i < mem.size(); ++i) {
    const ServeDeviceMemory& d = mem[i];
    const int y = 4 + 18 * static_cast<int>(i);
    double x = 150;
    o << "<text x=\"0\" y=\"" << y + 12 << "\">" << esc(pf.devices[d.device].name) << "</text>";
    for (auto [cls, bytes] : {std::pair{"w", d.weights_bytes}, {"k", d.kv_bytes}, {"a", d.activation_bytes}}) {
      const double w = W * bytes / most;
      o << "<rect class=\"" << cls << "\" x=\"" << fmt("%.1f", x) << "\" y=\"" << y << "\" width=\"" << fmt("%.1f", w)
        << "\" height=\"14\"><title>" << fmt("%.2f GB", bytes / 1e9) << "</title></rect>";
      x += w;
    }
    const double cx = 150 + W * d.capacity_bytes / most;
    o << "<line class=\"cap\" x1=\"" << fmt("%.1f", cx) << "\" y1=\"" << y - 1 << "\" x2=\"" << fmt("%.1f", cx)
      << "\" y2=\"" << y + 15 << "\"/><text x=\"" << 160 + W << "\" y=\"" << y + 12 << "\">"
      << fmt("%.1f", (d.weights_bytes + d.kv_bytes + d.activation_bytes) / 1e9) << " / "
      << fmt("%.1f GB", d.capacity_bytes / 1e9) << "</text>\n";
  }
  o << "</svg>\n";
  // Baselines.
  o << "<h2>Baselines (same cost model, same objectives)</h2>\n<table id=\"baselines\"><tr><th class=\"l\">layout</th>"
       "<th>tokens/s</th><th>TTFT ms</th><th>TPOT ms</th><th>batch</th><th>ours / it</th><th class=\"l\">what it "
       "is</th></tr>\n";
  for (const ServeLayout& b : res.baselines) {
    o << "<tr><td class=\"l\">" << esc(b.name) << "</td>";
    if (b.tokens_per_s > 0)
      o << "<td>" << fmt("%.1f", b.tokens_per_s) << "</td><td>" << fmt("%.1f", b.ttft_us / 1e3) << "</td><td>"
        << fmt("%.2f", b.tpot_us / 1e3) << "</td><td>" << b.batch << "</td><td>"
        << fmt("%.2f", l.tokens_per_s / b.tokens_per_s) << "</td>";
    else
      o << "<td>none</td><td></td><td></td><td></td><td></td>";
    o << "<td class=\"l\">" << esc(b.note) << "</td></tr>\n";
  }
  o << "</table>\n";
  if (!files.plans.empty()) {
    o << "<h2>Plans</h2>\n<p>Each pass below is a plan that <code>diviml validate -g GRAPH -p " << esc(files.platform)
      << " PLAN</code> checks.</p><ul>\n";
    for (size_t i = 0; i < files.plans.size() && i < res.passes.size(); ++i)
      o << "<li>pipeline " << res.passes[i].pipeline << ", " << esc(res.passes[i].phase) << ": <a href=\""
        << esc(files.plans[i]) << "\">" << esc(files.plans[i]) << "</a> (graph <a href=\"" << esc(files.graphs[i])
        << "\">" << esc(files.graphs[i]) << "</a>)</li>\n";
    o << "</ul>\n";
  }
  o << "</body></html>\n";
  return o.str();
}

}  // namespace diviml
