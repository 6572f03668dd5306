#include "diviml/solvers/metis.hpp"

#include <metis.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "diviml/solvers/partition.hpp"

namespace diviml {

Result<SolverOutput> MetisSolver::run(const Problem& pr, const SolveContext& ctx) const {
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  const Units units = partition_units(pr);
  const int m = units.size();
  const std::vector<double> share = device_shares(pr);
  // The parts: devices with a share of the work.
  std::vector<int> part_device;
  for (int d = 0; d < k; ++d)
    if (share[d] > 0) part_device.push_back(d);
  const int fastest = static_cast<int>(std::max_element(share.begin(), share.end()) - share.begin());
  // Unit weights: work on the fastest device (or the least anywhere it cannot run there).
  std::vector<double> work(m, 0.0);
  for (int u = 0; u < m; ++u)
    for (int v : units.members[u]) {
      double c = pr.cost_us(v, fastest);
      if (!std::isfinite(c)) {
        c = kInf;
        for (int d = 0; d < k; ++d) c = std::min(c, pr.cost_us(v, d));
      }
      work[u] += c;
    }
  // Undirected unit graph: bytes between units, both directions summed.
  std::vector<std::map<int, double>> adj(m);
  for (const Edge& e : g.edges) {
    const int a = units.of[e.src], b = units.of[e.dst];
    if (a == b) continue;
    adj[a][b] += e.bytes;
    adj[b][a] += e.bytes;
  }
  std::vector<int> unit_device(m, fastest);
  std::string cut_note;
  const int parts = static_cast<int>(part_device.size());
  if (parts > 1 && m > parts) {
    double max_work = 0, max_bytes = 0;
    for (int u = 0; u < m; ++u) {
      max_work = std::max(max_work, work[u]);
      for (const auto& [b, bytes] : adj[u]) max_bytes = std::max(max_bytes, bytes);
    }
    // Integer weights: the total below 2^30 (idx_t may be 32 bits).
    const double wscale = max_work > 0 ? std::min(1e6 / max_work, 1e9 / (max_work * m)) : 1.0;
    const double bscale = max_bytes > 0 ? 1e6 / max_bytes : 1.0;
    std::vector<idx_t> xadj{0}, adjncy, adjwgt, vwgt(m);
    for (int u = 0; u < m; ++u) {
      vwgt[u] = std::max<idx_t>(1, static_cast<idx_t>(std::llround(work[u] * wscale)));
      for (const auto& [b, bytes] : adj[u]) {
        adjncy.push_back(b);
        adjwgt.push_back(std::max<idx_t>(1, static_cast<idx_t>(std::llround(bytes * bscale))));
      }
      xadj.push_back(static_cast<idx_t>(adjncy.size()));
    }
    std::vector<real_t> tpwgts(parts);
    double total = 0;
    for (int p = 0; p < parts; ++p) total += share[part_device[p]];
    for (int p = 0; p < parts; ++p) tpwgts[p] = static_cast<real_t>(share[part_device[p]] / total);
    idx_t options[METIS_NOPTIONS];
    METIS_SetDefaultOptions(options);
    options[METIS_OPTION_SEED] = static_cast<idx_t>(ctx.options.seed % 1000000007ULL);
    options[METIS_OPTION_UFACTOR] = 30;  // 3% imbalance
    options[METIS_OPTION_NUMBERING] = 0;
    idx_t nv = m, ncon = 1, np = parts, cut = 0;
    std::vector<idx_t> where(m, 0);
    const int rc = METIS_PartGraphKway(&nv, &ncon, xadj.data(), adjncy.data(), vwgt.data(), nullptr, adjwgt.data(), &np,
                                       tpwgts.data(), nullptr, options, &cut, where.data());
    if (rc != METIS_OK) return internal_error("metis: METIS_PartGraphKway failed (code " + std::to_string(rc) + ")");
    for (int u = 0; u < m; ++u) unit_device[u] = part_device[where[u]];
    cut_note = "METIS cut " + std::to_string(static_cast<long long>(cut)) + " (scaled bytes)";
  }
  // Units their part's device cannot run: to the fastest device that runs them.
  int unrunnable = 0;
  for (int u = 0; u < m; ++u) {
    if (unit_runs(pr, units, u, unit_device[u])) continue;
    int best = -1;
    for (int d = 0; d < k; ++d)
      if (unit_runs(pr, units, u, d) && (best < 0 || share[d] > share[best])) best = d;
    unit_device[u] = best >= 0 ? best : any_device(pr, units, u);
    ++unrunnable;
  }
  const int moved = make_acyclic(pr, units, unit_device);
  const bool fits = fit_units(pr, units, unit_device);
  std::vector<int> device(pr.num_nodes());
  for (int v = 0; v < pr.num_nodes(); ++v) device[v] = unit_device[units.of[v]];
  Result<SolverOutput> out = decision_for(pr, ctx, units, device, name());
  if (!out) return out;
  out->notes.push_back(
      "metis: " + std::to_string(m) + " units into " + std::to_string(parts) + " parts" +
      (cut_note.empty() ? "" : "; " + cut_note) + "; acyclic repair moved " + std::to_string(moved) + " units" +
      (unrunnable ? "; " + std::to_string(unrunnable) + " units moved to a device that runs them" : "") +
      (fits ? "" : "; weights still overflow a device"));
  return out;
}

}  // namespace diviml
