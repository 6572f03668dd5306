#include "diviml/objective/validate.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <tuple>

#include "diviml/objective/memory.hpp"

namespace diviml {
namespace {

bool leq(double a, double b) { return a <= b + 1e-6 * std::max({1.0, std::abs(a), std::abs(b)}); }
bool near(double a, double b) { return leq(a, b) && leq(b, a); }

std::string num(double x) {
  std::ostringstream s;
  s.precision(10);
  s << x;
  return s.str();
}

}  // namespace

Status check_colocation(const Problem& pr, const Plan& plan) {
  const int n = pr.num_nodes();
  // One copy of a group's weights: every lane of a throughput plan uses the same device.
  std::map<int, const Placement*> first;  // group -> its first placement seen
  for (const Placement& p : plan.placements) {
    if (p.node < 0 || p.node >= n) continue;
    const int group = pr.group_of(p.node);
    if (group < 0) continue;
    auto [it, added] = first.emplace(group, &p);
    if (!added && it->second->device != p.device)
      return fail("colocate group '" + pr.group_name(group) + "': node '" + pr.graph().nodes[it->second->node].id +
                  "' runs on '" + pr.platform().devices[it->second->device].name + "' but node '" +
                  pr.graph().nodes[p.node].id + "' on '" + pr.platform().devices[p.device].name + "'");
  }
  return {};
}

Status validate(const Problem& pr, const Plan& plan) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<const Placement*> at(n, nullptr);
  for (const Placement& p : plan.placements) {
    if (p.node < 0 || p.node >= n) return fail("placement of an unknown node");
    const std::string& id = g.nodes[p.node].id;
    if (at[p.node]) return fail("node '" + id + "' is placed twice");
    at[p.node] = &p;
    if (p.device < 0 || p.device >= k) return fail("node '" + id + "' is placed on an unknown device");
    const std::string& dev = pf.devices[p.device].name;
    if (!pr.can_run(p.node, p.device)) return fail("node '" + id + "' cannot run on device '" + dev + "'");
    if (!std::isfinite(p.start_us) || !std::isfinite(p.end_us) || p.start_us < 0)
      return fail("node '" + id + "': start_us/end_us must be finite and start_us >= 0");
    if (!near(p.end_us - p.start_us, pr.cost_us(p.node, p.device)))
      return fail("node '" + id + "' on '" + dev + "': duration " + num(p.end_us - p.start_us) +
                  " us differs from its cost " + num(pr.cost_us(p.node, p.device)) + " us");
    double in = pr.input_us(p.node, p.device);
    if (!leq(in, p.start_us))
      return fail("node '" + id + "' starts at " + num(p.start_us) + " us before its host input arrives at " + num(in) +
                  " us");
  }
  for (int v = 0; v < n; ++v)
    if (!at[v]) return fail("node '" + g.nodes[v].id + "' is not placed");
  if (Status s = check_colocation(pr, plan); !s) return s;
  for (int v = 0; v < n; ++v) {
    // An infinite delay would make every tolerance infinite: check the links themselves.
    if (!std::isfinite(pr.input_us(v, at[v]->device)))
      return fail("node '" + g.nodes[v].id + "' reads its input from the host, but device '" +
                  pf.devices[at[v]->device].name + "' has no link from host '" + pf.devices[pf.host].name + "'");
    if (!std::isfinite(pr.output_us(v, at[v]->device)))
      return fail("node '" + g.nodes[v].id + "' returns its output to the host, but device '" +
                  pf.devices[at[v]->device].name + "' has no link to host '" + pf.devices[pf.host].name + "'");
  }
  std::vector<int> transfers_of(g.num_edges(), 0);
  for (const Edge& e : g.edges) {
    const Placement &a = *at[e.src], &b = *at[e.dst];
    int idx = static_cast<int>(&e - g.edges.data());
    double c = pr.comm_us(idx, a.device, b.device);
    if (!std::isfinite(c))
      return fail("edge " + g.nodes[e.src].id + " -> " + g.nodes[e.dst].id + " needs a link from '" +
                  pf.devices[a.device].name + "' to '" + pf.devices[b.device].name + "', which the platform lacks");
    if (!leq(a.end_us + c, b.start_us))
      return fail("edge " + g.nodes[e.src].id + " -> " + g.nodes[e.dst].id + ": '" + g.nodes[e.dst].id +
                  "' starts at " + num(b.start_us) + " us but its input is ready at " + num(a.end_us + c) + " us");
  }
  for (const Transfer& t : plan.transfers) {
    if (t.edge < 0 || t.edge >= g.num_edges()) return fail("transfer of an unknown edge");
    const Edge& e = g.edges[t.edge];
    std::string name = "transfer " + g.nodes[e.src].id + " -> " + g.nodes[e.dst].id;
    if (t.from != at[e.src]->device || t.to != at[e.dst]->device)
      return fail(name + ": devices do not match the placements");
    if (t.from == t.to) return fail(name + ": both ends run on '" + pf.devices[t.from].name + "', nothing moves");
    if (++transfers_of[t.edge] > 1) return fail(name + ": listed twice");
    if (!std::isfinite(t.start_us) || !std::isfinite(t.end_us)) return fail(name + ": start_us/end_us must be finite");
    if (!leq(at[e.src]->end_us, t.start_us) || !leq(t.end_us, at[e.dst]->start_us) ||
        !leq(pr.comm_us(t.edge, t.from, t.to), t.end_us - t.start_us))
      return fail(name + ": times do not fit between the two placements");
  }
  for (int e = 0; e < g.num_edges(); ++e)
    if (at[g.edges[e].src]->device != at[g.edges[e].dst]->device && transfers_of[e] == 0)
      return fail("edge " + g.nodes[g.edges[e].src].id + " -> " + g.nodes[g.edges[e].dst].id + " crosses from '" +
                  pf.devices[at[g.edges[e].src]->device].name + "' to '" + pf.devices[at[g.edges[e].dst]->device].name +
                  "' but the plan lists no transfer for it");
  // Devices whose copies occupy them (overlap_comm false): where an end of a copy is such a
  // device, a producer's tensor moves once per destination device, so the transfers of one
  // producer to one device are one copy (equal times), and that copy may overlap no task and no
  // other copy on either end that it occupies. Copies between other devices are unaffected.
  bool occupied = false;
  for (const Device& dev : pf.devices) occupied |= !dev.overlap_comm;
  if (occupied) {
    std::map<std::pair<int, int>, const Transfer*> copy_of;  // (producer, to) -> its first transfer
    std::vector<std::vector<std::tuple<double, double, std::string>>> busy(k);
    for (const Transfer& t : plan.transfers) {
      const Edge& e = g.edges[t.edge];
      if (pf.devices[t.from].overlap_comm && pf.devices[t.to].overlap_comm) continue;  // neither end occupied
      auto [it, fresh] = copy_of.emplace(std::pair<int, int>{e.src, t.to}, &t);
      const std::string name = "copy of '" + g.nodes[e.src].id + "' to '" + pf.devices[t.to].name + "'";
      if (!fresh) {
        if (!near(it->second->start_us, t.start_us) || !near(it->second->end_us, t.end_us))
          return fail(name + ": its transfers differ in time (a tensor moves once per destination device)");
        continue;
      }
      for (int d : {t.from, t.to})
        if (!pf.devices[d].overlap_comm) busy[d].emplace_back(t.start_us, t.end_us, name);
    }
    for (const Placement& p : plan.placements)
      if (!pf.devices[p.device].overlap_comm)
        busy[p.device].emplace_back(p.start_us, p.end_us, "node '" + g.nodes[p.node].id + "'");
    for (int d = 0; d < k; ++d) {
      auto& b = busy[d];
      std::sort(b.begin(), b.end());
      for (size_t j = 1; j < b.size(); ++j)
        if (!leq(std::get<1>(b[j - 1]), std::get<0>(b[j])))
          return fail("device '" + pf.devices[d].name + "' (overlap_comm false): " + std::get<2>(b[j - 1]) + " and " +
                      std::get<2>(b[j]) + " overlap");
    }
  }
  std::vector<std::vector<const Placement*>> lanes(k);
  for (const Placement& p : plan.placements) lanes[p.device].push_back(&p);
  for (int d = 0; d < k; ++d) {
    auto& lane = lanes[d];
    std::sort(lane.begin(), lane.end(), [](const Placement* a, const Placement* b) {
      return a->start_us != b->start_us ? a->start_us < b->start_us : a->end_us < b->end_us;
    });
    double mem = 0;
    for (size_t j = 0; j < lane.size(); ++j) {
      mem += pr.resident_bytes(lane[j]->node);
      if (j > 0 && !leq(lane[j - 1]->end_us, lane[j]->start_us))
        return fail("device '" + pf.devices[d].name + "': nodes '" + g.nodes[lane[j - 1]->node].id + "' and '" +
                    g.nodes[lane[j]->node].id + "' overlap");
    }
    if (!leq(mem, pr.capacity_bytes(d)))
      return fail("device '" + pf.devices[d].name + "': resident weights " + num(mem) + " bytes exceed memory_bytes " +
                  num(pr.capacity_bytes(d)));
  }
  // Memory over time: weights and state plus every live tensor and workspace, swept
  // (memory.hpp); the placements and transfers are consistent by now.
  bool limited = false;
  for (int d = 0; d < k; ++d) limited |= std::isfinite(pr.capacity_bytes(d));
  if (limited) {
    // From the placements and copies alone: the host transfers of one inference follow from them
    // (inputs from time 0, outputs at once), whatever the file lists.
    Plan own = plan;
    own.host_transfers.clear();
    const MemoryProfile mem = memory_profile(pr, own);
    for (int d = 0; d < k; ++d)
      if (!leq(mem.peak_bytes[d], pr.capacity_bytes(d)))
        return fail("device '" + pf.devices[d].name + "': " + num(mem.peak_bytes[d]) + " bytes held at " +
                    num(mem.peak_at_us[d]) + " us (weights and state " + num(mem.resident_bytes[d]) +
                    ", tensors and workspace " + num(mem.peak_bytes[d] - mem.resident_bytes[d]) +
                    ") exceed memory_bytes " + num(pr.capacity_bytes(d)));
  }
  for (const auto& [field, value] : {std::pair<const char*, double>{"makespan_us", plan.makespan_us},
                                     {"lower_bound_us", plan.lower_bound_us},
                                     {"solve_time_s", plan.solve_time_s}})
    if (!std::isfinite(value) || value < 0) return fail(std::string(field) + " must be a finite number >= 0");
  double makespan = 0;
  for (int v = 0; v < n; ++v) makespan = std::max(makespan, at[v]->end_us + pr.output_us(v, at[v]->device));
  if (!near(makespan, plan.makespan_us))
    return fail("makespan_us " + num(plan.makespan_us) + " differs from the schedule's " + num(makespan));
  if (!leq(plan.lower_bound_us, plan.makespan_us))
    return fail("lower_bound_us " + num(plan.lower_bound_us) + " exceeds makespan_us " + num(plan.makespan_us));
  if (plan.status == PlanStatus::kOptimal && !meets_bound(plan.makespan_us, plan.lower_bound_us))
    return fail("status 'optimal' but makespan_us " + num(plan.makespan_us) + " is above lower_bound_us " +
                num(plan.lower_bound_us) + ": only a plan that meets its proven bound is optimal");
  return {};
}

Status check_placements(const Problem& pr, Plan& plan) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  const bool stream = plan.objective == "throughput";
  const int lanes = stream ? plan.lanes : 1;
  if (lanes < 1) return fail("a plan needs at least one lane");
  std::vector<char> seen(static_cast<size_t>(lanes) * n, 0);
  for (const Placement& p : plan.placements) {
    if (p.node < 0 || p.node >= n) return fail("placement of an unknown node");
    const std::string& id = g.nodes[p.node].id;
    if (p.device < 0 || p.device >= k) return fail("node '" + id + "' is placed on an unknown device");
    const int lane = stream ? p.lane : 0;
    if (lane < 0 || lane >= lanes)
      return fail("node '" + id + "' is placed in lane " + std::to_string(p.lane) + ", outside the plan's " +
                  std::to_string(lanes) + " lane(s)");
    if (!std::isfinite(p.start_us) || !std::isfinite(p.end_us))
      return fail("node '" + id + "': start_us/end_us must be finite");
    if (seen[static_cast<size_t>(lane) * n + p.node]++)
      return fail("node '" + id + "' is placed twice" + (stream ? " in lane " + std::to_string(lane) : std::string()));
  }
  for (size_t t = 0; t < seen.size(); ++t)
    if (!seen[t])
      return fail("node '" + g.nodes[t % n].id + "' is not placed" +
                  (stream ? " in lane " + std::to_string(t / n) : std::string()));
  std::sort(plan.placements.begin(), plan.placements.end(), [stream](const Placement& a, const Placement& b) {
    return std::make_tuple(stream ? a.lane : 0, a.node) < std::make_tuple(stream ? b.lane : 0, b.node);
  });
  for (const Transfer& t : plan.transfers) {
    if (t.edge < 0 || t.edge >= g.num_edges() || t.from < 0 || t.from >= k || t.to < 0 || t.to >= k)
      return fail("a transfer names an unknown edge or device");
    if (stream && (t.lane < 0 || t.lane >= lanes))
      return fail("a transfer is in lane " + std::to_string(t.lane) + ", outside the plan's " + std::to_string(lanes) +
                  " lane(s)");
    if (!std::isfinite(t.start_us) || !std::isfinite(t.end_us)) return fail("a transfer's times must be finite");
  }
  for (const HostTransfer& h : plan.host_transfers) {
    if (h.node < 0 || h.node >= n || h.from < 0 || h.from >= k || h.to < 0 || h.to >= k)
      return fail("a host transfer names an unknown node or device");
    if (stream && (h.lane < 0 || h.lane >= lanes))
      return fail("a host transfer is in lane " + std::to_string(h.lane) + ", outside the plan's " +
                  std::to_string(lanes) + " lane(s)");
    if (!std::isfinite(h.start_us) || !std::isfinite(h.end_us)) return fail("a host transfer's times must be finite");
  }
  return {};
}

}  // namespace diviml
