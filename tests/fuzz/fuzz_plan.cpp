// libFuzzer: the plan reader, the validators and the renderers never crash on any plan file
// for a fixed problem (`diviml gantt` draws plans it does not validate: measured timelines);
// a latency plan the validator accepts replays to its own makespan, and a throughput plan it
// accepts replays to its own period.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "diviml/io/json_io.hpp"
#include "diviml/objective/memory.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/report/html.hpp"
#include "diviml/report/report.hpp"
#include "diviml/report/trace.hpp"

namespace {

const diviml::Problem& problem() {
  static const diviml::Problem pr = [] {
    auto g = diviml::parse_graph(R"({"nodes": [{"id": "a", "cost_us": {"cpu": 4, "gpu": 1}, "param_bytes": 10},
        {"id": "b", "cost_us": {"cpu": 3, "gpu": 0}}, {"id": "c", "cost_us": {"cpu": 5, "gpu": null}},
        {"id": "d", "cost_us": {"cpu": 2, "gpu": 2}, "output_bytes": 100}],
        "edges": [{"src": "a", "dst": "b", "bytes": 1000}, {"src": "a", "dst": "c"}, {"src": "b", "dst": "d"},
                  {"src": "c", "dst": "d", "bytes": 0}]})",
                                 "g.json");
    auto p = diviml::parse_platform(R"({"host": "cpu", "devices": [{"name": "cpu", "kind": "cpu"},
        {"name": "gpu", "kind": "gpu", "memory_bytes": 15}],
        "links": [{"a": "cpu", "b": "gpu", "latency_us": 1, "bandwidth_gbps": 1}]})",
                                    "p.json");
    if (!g || !p) std::abort();
    auto pr = diviml::Problem::build(*g, *p);
    if (!pr) std::abort();
    return *pr;
  }();
  return pr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto plan = diviml::parse_plan(text, "fuzz.plan.json", problem());
  if (!plan) return 0;
  // Drawn as `diviml gantt` draws it: whole (check_placements), valid or not.
  diviml::Plan drawn = *plan;
  if (diviml::check_placements(problem(), drawn) &&
      (diviml::gantt_svg(problem(), drawn).empty() || diviml::chrome_trace(problem(), drawn).empty() ||
       diviml::html_report(problem(), drawn).empty()))
    std::abort();
  if (plan->objective == "throughput") {
    if (!diviml::throughput_objective().validate(problem(), *plan)) return 0;
    // Accepted: its steady state fits memory (the gpu holds 15 bytes).
    if (!diviml::fits_memory(problem(), *plan)) std::abort();
    auto mapping = diviml::pipeline_mapping_of(problem(), *plan);
    auto again = mapping ? diviml::pipeline_replay(problem(), *mapping) : diviml::Result<diviml::Plan>(mapping.error());
    if (!again || std::abs(again->period_us - plan->period_us) > 1e-6 * std::max(1.0, plan->period_us)) std::abort();
    return 0;
  }
  if (!diviml::validate(problem(), *plan)) return 0;
  // Accepted: its per-device orders replay to a makespan no later than the one it states.
  auto replayed = diviml::replay(problem(), diviml::mapping_of(problem(), *plan));
  if (!replayed || replayed->makespan_us > plan->makespan_us * (1 + 1e-6) + 1e-6) std::abort();
  return 0;
}
