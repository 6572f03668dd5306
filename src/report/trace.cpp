#include "diviml/report/trace.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "copies.hpp"
#include "diviml/cost/problem.hpp"
#include "diviml/objective/memory.hpp"

namespace diviml {
namespace {

using nlohmann::json;

json copy_args(const report::Copy& c, const Graph& g, bool stream) {
  json args = {{c.role, g.nodes[c.node].id}, {"bytes", c.bytes}};
  if (stream) args["lane"] = c.lane;
  return args;
}

}  // namespace

std::string chrome_trace(const Problem& pr, const Plan& plan) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int k = pr.num_devices();
  const bool stream = plan.objective == "throughput";
  json events = json::array();
  const int pid = 1;
  events.push_back({{"ph", "M"},
                    {"pid", pid},
                    {"name", "process_name"},
                    {"args", {{"name", g.name + " on " + pf.name + " (" + plan.solver + ")"}}}});
  for (int d = 0; d < k; ++d) {
    events.push_back(
        {{"ph", "M"}, {"pid", pid}, {"tid", d + 1}, {"name", "thread_name"}, {"args", {{"name", pf.devices[d].name}}}});
    events.push_back(
        {{"ph", "M"}, {"pid", pid}, {"tid", d + 1}, {"name", "thread_sort_index"}, {"args", {{"sort_index", d}}}});
  }
  // Ops, by (lane, node) for the flows below.
  std::map<std::pair<int, int>, const Placement*> at;
  for (const Placement& p : plan.placements) {
    at[{stream ? p.lane : 0, p.node}] = &p;
    json args = {{"node", g.nodes[p.node].id}, {"op", g.nodes[p.node].op}, {"device", pf.devices[p.device].name}};
    if (stream) args["lane"] = p.lane;
    events.push_back({{"ph", "X"},
                      {"pid", pid},
                      {"tid", p.device + 1},
                      {"name", g.nodes[p.node].id},
                      {"cat", g.nodes[p.node].op.empty() ? "op" : g.nodes[p.node].op},
                      {"ts", p.start_us},
                      {"dur", std::max(0.0, p.end_us - p.start_us)},
                      {"args", args}});
  }
  // Copies: one per (producer, destination, lane) as the plan records them, and host transfers.
  const std::vector<report::Copy> copies = report::plan_copies(pr, plan);
  // Link tracks: copies on one link direction are put on the first sub-track free at their start.
  std::map<std::pair<int, int>, std::vector<double>> busy_until;  // link -> end time per sub-track
  std::map<std::tuple<int, int, int>, int> tid_of;                // (from, to, sub-track) -> tid
  int next_tid = k + 1;
  int flow = 0;
  for (const report::Copy& c : copies) {
    if (c.from < 0 || c.to < 0 || c.from >= k || c.to >= k) continue;
    auto& tracks = busy_until[{c.from, c.to}];
    size_t sub = 0;
    while (sub < tracks.size() && tracks[sub] > c.start + 1e-9) ++sub;
    if (sub == tracks.size()) tracks.push_back(0);
    tracks[sub] = c.end;
    auto [it, fresh] = tid_of.emplace(std::make_tuple(c.from, c.to, static_cast<int>(sub)), 0);
    if (fresh) {
      it->second = ++next_tid;
      std::string name = pf.devices[c.from].name + " -> " + pf.devices[c.to].name;
      if (sub > 0) name += " #" + std::to_string(sub + 1);
      events.push_back(
          {{"ph", "M"}, {"pid", pid}, {"tid", it->second}, {"name", "thread_name"}, {"args", {{"name", name}}}});
      events.push_back({{"ph", "M"},
                        {"pid", pid},
                        {"tid", it->second},
                        {"name", "thread_sort_index"},
                        {"args", {{"sort_index", 1000 + it->second}}}});
    }
    const int tid = it->second;
    events.push_back({{"ph", "X"},
                      {"pid", pid},
                      {"tid", tid},
                      {"name", c.name},
                      {"cat", "copy"},
                      {"ts", c.start},
                      {"dur", std::max(0.0, c.end - c.start)},
                      {"args", copy_args(c, g, stream)}});
    // Flow arrows: producer op -> copy -> each reader op.
    if (c.producer >= 0) {
      auto p = at.find({c.lane, c.producer});
      if (p != at.end()) {
        const int id = ++flow;
        events.push_back({{"ph", "s"},
                          {"pid", pid},
                          {"tid", p->second->device + 1},
                          {"name", "copy"},
                          {"cat", "flow"},
                          {"id", id},
                          {"ts", p->second->end_us}});
        events.push_back({{"ph", "f"},
                          {"bp", "e"},
                          {"pid", pid},
                          {"tid", tid},
                          {"name", "copy"},
                          {"cat", "flow"},
                          {"id", id},
                          {"ts", c.start}});
      }
    }
    for (int r : c.readers) {
      const Placement* q = at.at({c.lane, r});
      const int id = ++flow;
      events.push_back(
          {{"ph", "s"}, {"pid", pid}, {"tid", tid}, {"name", "copy"}, {"cat", "flow"}, {"id", id}, {"ts", c.end}});
      events.push_back({{"ph", "f"},
                        {"bp", "e"},
                        {"pid", pid},
                        {"tid", q->device + 1},
                        {"name", "copy"},
                        {"cat", "flow"},
                        {"id", id},
                        {"ts", std::max(q->start_us, c.end)}});
    }
  }
  // Memory counters.
  const MemoryProfile mem = memory_profile(pr, plan);
  for (int d = 0; d < k; ++d)
    for (const auto& [t, bytes] : mem.steps[d])
      events.push_back({{"ph", "C"},
                        {"pid", pid},
                        {"tid", d + 1},
                        {"name", "memory " + pf.devices[d].name},
                        {"ts", t},
                        {"args", {{"bytes", bytes}}}});
  json doc = {{"traceEvents", std::move(events)},
              {"displayTimeUnit", "ns"},
              {"otherData",
               {{"graph", g.name},
                {"platform", pf.name},
                {"solver", plan.solver},
                {"objective", plan.objective},
                {"status", to_string(plan.status)},
                {"makespan_us", plan.makespan_us},
                {"lower_bound_us", plan.lower_bound_us}}}};
  if (stream) doc["otherData"]["period_us"] = plan.period_us;
  return doc.dump() + "\n";
}

}  // namespace diviml
