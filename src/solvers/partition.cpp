#include "diviml/solvers/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "diviml/objective/replay.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/streams.hpp"

namespace diviml {

Units partition_units(const Problem& pr) {
  const int n = pr.num_nodes();
  Units u;
  u.of.assign(n, -1);
  std::vector<int> group_unit(pr.num_groups(), -1);
  for (int v : pr.graph().topo_order()) {
    const int c = pr.group_of(v);
    if (c >= 0 && group_unit[c] >= 0) {
      u.of[v] = group_unit[c];
      continue;
    }
    u.of[v] = u.size();
    u.order.push_back(u.size());
    u.members.emplace_back();
    if (c >= 0) group_unit[c] = u.of[v];
  }
  for (int v = 0; v < n; ++v) u.members[u.of[v]].push_back(v);
  return u;
}

std::vector<double> device_shares(const Problem& pr) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<double> share(k, 0.0);
  double total = 0;
  for (int d = 0; d < k; ++d) {
    double work = 0;
    for (int v = 0; v < n; ++v) work += pr.cost_us(v, d);
    share[d] = std::isfinite(work) && work > 0 ? 1.0 / work : 0.0;
    total += share[d];
  }
  if (total <= 0) {  // no device runs everything: shares by the work each can do
    for (int d = 0; d < k; ++d) {
      double work = 0;
      int runs = 0;
      for (int v = 0; v < n; ++v)
        if (pr.can_run(v, d)) work += pr.cost_us(v, d), ++runs;
      share[d] = runs > 0 && work > 0 ? static_cast<double>(runs) / n / work : 0.0;
      total += share[d];
    }
  }
  for (double& s : share) s = total > 0 ? s / total : 1.0 / k;
  return share;
}

bool unit_runs(const Problem& pr, const Units& units, int u, int d) {
  for (int v : units.members[u])
    if (!pr.can_run(v, d) || !std::isfinite(pr.input_us(v, d)) || !std::isfinite(pr.output_us(v, d))) return false;
  return true;
}

int any_device(const Problem& pr, const Units& units, int u) {
  for (int d = 0; d < pr.num_devices(); ++d) {
    bool all = true;
    for (int v : units.members[u]) all = all && pr.can_run(v, d);
    if (all) return d;
  }
  return 0;
}

namespace {

// Whether every edge into unit u's members comes over a link, with u on device d.
bool linked_in(const Problem& pr, const Units& units, const std::vector<int>& unit_device, int u, int d) {
  const Graph& g = pr.graph();
  for (int v : units.members[u])
    for (int e : g.in_edges(v)) {
      const int p = units.of[g.edges[e].src];
      if (p != u && !std::isfinite(pr.comm_us(e, unit_device[p], d))) return false;
    }
  return true;
}

// Moves units whose inputs arrive over no link (platforms without every link) to a device that
// runs them with every input linked; false when some edge is still unlinked.
bool fix_links(const Problem& pr, const Units& units, std::vector<int>& unit_device) {
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  for (int pass = 0; pass < 3; ++pass) {
    bool broken = false;
    for (int u : units.order) {
      if (linked_in(pr, units, unit_device, u, unit_device[u])) continue;
      int best = -1;
      for (int d = 0; d < k && best < 0; ++d)
        if (unit_runs(pr, units, u, d) && linked_in(pr, units, unit_device, u, d)) best = d;
      if (best >= 0)
        unit_device[u] = best;
      else
        broken = true;
    }
    bool ok = !broken;
    for (int e = 0; e < g.num_edges() && ok; ++e)
      ok = std::isfinite(pr.comm_us(e, unit_device[units.of[g.edges[e].src]], unit_device[units.of[g.edges[e].dst]]));
    if (ok) return true;
  }
  return false;
}

}  // namespace

int make_acyclic(const Problem& pr, const Units& units, std::vector<int>& unit_device) {
  const Graph& g = pr.graph();
  const int k = pr.num_devices(), m = units.size();
  std::vector<int> position(m);
  for (int i = 0; i < m; ++i) position[units.order[i]] = i;
  // Parts ranked by the mean position of their units.
  std::vector<double> sum(k, 0.0);
  std::vector<int> count(k, 0);
  for (int u = 0; u < m; ++u) sum[unit_device[u]] += position[u], ++count[unit_device[u]];
  std::vector<int> parts(k);
  std::iota(parts.begin(), parts.end(), 0);
  std::stable_sort(parts.begin(), parts.end(), [&](int a, int b) {
    const double ma = count[a] ? sum[a] / count[a] : 1e300, mb = count[b] ? sum[b] / count[b] : 1e300;
    return ma < mb;
  });
  std::vector<int> rank(k);
  for (int r = 0; r < k; ++r) rank[parts[r]] = r;
  int moved = 0;
  for (int u : units.order) {
    int need = -1;  // the highest-ranked part among the unit's forward predecessors
    for (int v : units.members[u])
      for (int e : g.in_edges(v)) {
        const int p = units.of[g.edges[e].src];
        if (p != u && position[p] < position[u]) need = std::max(need, rank[unit_device[p]]);
      }
    if (need <= rank[unit_device[u]]) continue;
    // The lowest-ranked part at or above `need` that runs the whole unit.
    int to = -1;
    for (int r = need; r < k && to < 0; ++r)
      if (unit_runs(pr, units, u, parts[r])) to = parts[r];
    if (to < 0) continue;  // nowhere further along runs it: left (the plan stays valid)
    unit_device[u] = to;
    ++moved;
  }
  return moved;
}

bool fit_units(const Problem& pr, const Units& units, std::vector<int>& unit_device) {
  const int k = pr.num_devices(), m = units.size();
  std::vector<double> bytes(m, 0.0), mem(k, 0.0), work(k, 0.0);
  for (int u = 0; u < m; ++u) {
    for (int v : units.members[u]) {
      bytes[u] += pr.resident_bytes(v);
      work[unit_device[u]] += pr.cost_us(v, unit_device[u]);
    }
    mem[unit_device[u]] += bytes[u];
  }
  std::vector<int> by(m);
  std::iota(by.begin(), by.end(), 0);
  std::stable_sort(by.begin(), by.end(), [&](int a, int b) { return bytes[a] > bytes[b]; });
  for (int u : by) {
    const int from = unit_device[u];
    if (mem[from] <= pr.capacity_bytes(from) || bytes[u] <= 0) continue;
    int best = -1;
    for (int d = 0; d < k; ++d)
      if (d != from && unit_runs(pr, units, u, d) && mem[d] + bytes[u] <= pr.capacity_bytes(d) &&
          (best < 0 || work[d] < work[best]))
        best = d;
    if (best < 0) continue;
    for (int v : units.members[u]) work[from] -= pr.cost_us(v, from), work[best] += pr.cost_us(v, best);
    mem[from] -= bytes[u];
    mem[best] += bytes[u];
    unit_device[u] = best;
  }
  for (int d = 0; d < k; ++d)
    if (mem[d] > pr.capacity_bytes(d)) return false;
  return true;
}

Result<SolverOutput> decision_for(const Problem& pr, const SolveContext& ctx, const Units& units,
                                  const std::vector<int>& device_in, const std::string& solver) {
  SolverOutput out;
  // Platforms without every link: the partition is repaired so that every tensor has one, or
  // HEFT's plan (which only uses links that exist, groups kept) is the answer.
  std::vector<int> device = device_in;
  std::vector<int> unit_device(units.size());
  for (int u = 0; u < units.size(); ++u) unit_device[u] = device[units.members[u].front()];
  bool runs = true;
  for (int u = 0; u < units.size(); ++u) runs = runs && unit_runs(pr, units, u, unit_device[u]);
  auto weights_fit = [&] {
    std::vector<double> mem(pr.num_devices(), 0.0);
    for (int v = 0; v < pr.num_nodes(); ++v) mem[unit_device[units.of[v]]] += pr.resident_bytes(v);
    for (int d = 0; d < pr.num_devices(); ++d)
      if (mem[d] > pr.capacity_bytes(d)) return false;
    return true;
  };
  if (!runs || !fix_links(pr, units, unit_device) || !weights_fit()) {
    Result<SolverOutput> h = HeftSolver().run(pr, ctx);
    if (!h) return h;
    out.notes.push_back(solver +
                        ": its partition needs links the platform lacks or overflows a device's weights; "
                        "HEFT's plan was used");
    if (ctx.objective->name() == "latency") {
      out.mapping = std::move(h->mapping);
      return out;
    }
    device.assign(h->mapping.device.begin(), h->mapping.device.end());
  } else {
    for (int v = 0; v < pr.num_nodes(); ++v) device[v] = unit_device[units.of[v]];
  }
  if (ctx.objective->name() == "throughput") {
    std::string why;
    std::optional<Realized> r = realize_pipeline(pr, ctx, device, &why);
    if (!r) return infeasible(solver + ": its partition gives no pipeline that runs (" + why + ")");
    std::vector<std::string> notes = std::move(out.notes);
    out = std::move(r->output);
    out.notes.insert(out.notes.begin(), notes.begin(), notes.end());
  } else {
    out.mapping = mapping_from_priority(pr, device, heft_priority(pr));
  }
  return out;
}

}  // namespace diviml
