#include "diviml/solvers/stages.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>

#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/streams.hpp"

namespace diviml {

namespace {

// Most cut positions the DP considers (evenly spaced by cumulative work beyond that), by the
// number of devices: the DP is O(positions^2 * 2^K * K^2).
int max_positions(int k) { return k <= 3 ? 800 : k <= 4 ? 400 : k <= 6 ? 120 : 40; }
constexpr int kMaxGroups = 4;  // most pipelines on disjoint device groups
constexpr int kMaxLanes = 8;   // most lanes dealt over them
constexpr int kReplayed = 3;   // replicated candidates replayed besides the single pipeline

// Many devices: the devices in one fixed sequence (the host's server first, then servers by
// their compute, each server's devices by speed, so that consecutive stages share a server where
// they can), and a DP over (cut position, position in the sequence) choosing each stage's device
// from the devices after the previous stage's (devices may be skipped): O(cuts^2 x devices^2).
// The tensors entering a stage cost the producers' count times the link's latency plus their
// bytes over its bandwidth (transfers are linear in bytes). The device per node and the DP's
// bottleneck estimate; nothing when no split fits.
std::optional<std::pair<std::vector<int>, double>> ordered_split(const Problem& pr, const SolveContext& ctx) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int n = pr.num_nodes(), k = pr.num_devices();
  const std::vector<int>& topo = g.topo_order();
  std::vector<int> pos(n);
  for (int t = 0; t < n; ++t) pos[topo[t]] = t;
  std::vector<double> alone(k, 0.0);  // whole-model compute per device (for the order)
  for (int d = 0; d < k; ++d)
    for (int v = 0; v < n; ++v) alone[d] += std::isfinite(pr.cost_us(v, d)) ? pr.cost_us(v, d) : 1e12;
  std::map<std::string, double> server_rate;
  for (int d = 0; d < k; ++d) server_rate[pf.devices[d].server] += 1.0 / std::max(alone[d], 1e-12);
  const std::string host_server = pf.devices[pf.host].server;
  std::vector<int> seq(k);
  for (int d = 0; d < k; ++d) seq[d] = d;
  std::stable_sort(seq.begin(), seq.end(), [&](int a, int b) {
    const std::string &sa = pf.devices[a].server, &sb = pf.devices[b].server;
    if (sa != sb) {
      if ((sa == host_server) != (sb == host_server)) return sa == host_server;
      return server_rate[sa] != server_rate[sb] ? server_rate[sa] > server_rate[sb] : sa < sb;
    }
    return alone[a] < alone[b];
  });
  // Cut positions: about 120, evenly spaced by cumulative work on the fastest device.
  std::vector<double> work_min(n + 1, 0.0);
  for (int t = 0; t < n; ++t) {
    double best = kInf;
    for (int d = 0; d < k; ++d) best = std::min(best, pr.cost_us(topo[t], d));
    work_min[t + 1] = work_min[t] + (std::isfinite(best) ? best : 0.0);
  }
  std::vector<int> cut{0};
  constexpr int kWant = 120;
  for (int t = 1; t < n; ++t)
    if (n <= kWant || work_min[t] * kWant / std::max(work_min[n], 1e-12) >= static_cast<double>(cut.size()))
      cut.push_back(t);
  cut.push_back(n);
  const int c = static_cast<int>(cut.size());
  // Per device prefix sums over the order: compute, host transfers, blocked nodes; weights.
  std::vector<std::vector<double>> work(k, std::vector<double>(n + 1, 0.0)), in(k, std::vector<double>(n + 1, 0.0)),
      out(k, std::vector<double>(n + 1, 0.0)), blocked(k, std::vector<double>(n + 1, 0.0));
  std::vector<double> mem(n + 1, 0.0);
  for (int t = 0; t < n; ++t) {
    const int v = topo[t];
    for (int d = 0; d < k; ++d) {
      const double cost = pr.cost_us(v, d), i = pr.input_us(v, d), o = pr.output_us(v, d);
      const bool ok = std::isfinite(cost) && std::isfinite(i) && std::isfinite(o);
      work[d][t + 1] = work[d][t] + (ok ? cost : 0.0);
      in[d][t + 1] = in[d][t] + (ok ? i : 0.0);
      out[d][t + 1] = out[d][t] + (ok ? o : 0.0);
      blocked[d][t + 1] = blocked[d][t] + (ok ? 0.0 : 1.0);
    }
    mem[t + 1] = mem[t] + pr.resident_bytes(v);
  }
  // Tensors entering stage [cut[a], cut[b]): producers before it, and the sum of their largest
  // edges into it, extended one cut at a time.
  std::vector<double> producers(static_cast<size_t>(c) * c, 0.0), bytes(static_cast<size_t>(c) * c, 0.0);
  std::vector<double> largest(n, -1.0);
  for (int a = 0; a + 1 < c; ++a) {
    std::vector<int> seen;
    double count = 0, sum = 0;
    for (int b = a + 1; b < c; ++b) {
      for (int t = cut[b - 1]; t < cut[b]; ++t)
        for (int e : g.in_edges(topo[t])) {
          const int u = g.edges[e].src;
          if (pos[u] >= cut[a]) continue;
          const double x = g.edges[e].bytes;
          if (largest[u] < 0) {
            seen.push_back(u), largest[u] = x, count += 1, sum += x;
          } else if (x > largest[u]) {
            sum += x - largest[u], largest[u] = x;
          }
        }
      producers[static_cast<size_t>(a) * c + b] = count;
      bytes[static_cast<size_t>(a) * c + b] = sum;
    }
    for (int u : seen) largest[u] = -1.0;
  }
  auto stage_cost = [&](int a, int b, int d, int prev) {
    if (blocked[d][cut[b]] > blocked[d][cut[a]]) return kInf;
    if (mem[cut[b]] - mem[cut[a]] > pr.capacity_bytes(d)) return kInf;
    double x =
        std::max({work[d][cut[b]] - work[d][cut[a]], in[d][cut[b]] - in[d][cut[a]], out[d][cut[b]] - out[d][cut[a]]});
    if (prev >= 0 && producers[static_cast<size_t>(a) * c + b] > 0) {
      const double lat = pf.transfer_us(prev, d, 0);
      if (!std::isfinite(lat)) return kInf;
      const double per_byte = (pf.transfer_us(prev, d, 1e6) - lat) / 1e6;
      x = std::max(x,
                   producers[static_cast<size_t>(a) * c + b] * lat + bytes[static_cast<size_t>(a) * c + b] * per_byte);
    }
    return x;
  };
  // f[b * k + j]: least bottleneck of splits of cut[0..b) whose last stage ends at cut[b] on seq[j].
  std::vector<double> f(static_cast<size_t>(c) * k, kInf);
  std::vector<int> from_a(f.size(), -1), from_j(f.size(), -1);
  for (int b = 1; b < c; ++b) {
    if (ctx.stopped()) return std::nullopt;
    for (int j = 0; j < k; ++j) {
      double best = stage_cost(0, b, seq[j], -1);
      int ba = -1, bj = -1;
      for (int a = 1; a < b; ++a)
        for (int i = 0; i < j; ++i) {
          const double before = f[static_cast<size_t>(a) * k + i];
          if (!std::isfinite(before) || before >= best) continue;
          const double x = std::max(before, stage_cost(a, b, seq[j], seq[i]));
          if (x < best) best = x, ba = a, bj = i;
        }
      f[static_cast<size_t>(b) * k + j] = best;
      from_a[static_cast<size_t>(b) * k + j] = ba;
      from_j[static_cast<size_t>(b) * k + j] = bj;
    }
  }
  int last = -1;
  for (int j = 0; j < k; ++j)
    if (last < 0 || f[static_cast<size_t>(c - 1) * k + j] < f[static_cast<size_t>(c - 1) * k + last]) last = j;
  if (last < 0 || !std::isfinite(f[static_cast<size_t>(c - 1) * k + last])) return std::nullopt;
  std::vector<int> device(n, -1);
  for (int b = c - 1, j = last;;) {
    const size_t cell = static_cast<size_t>(b) * k + j;
    const int a = from_a[cell] < 0 ? 0 : from_a[cell];
    for (int t = cut[a]; t < cut[b]; ++t) device[topo[t]] = seq[j];
    if (from_a[cell] < 0) break;
    j = from_j[cell];
    b = a;
  }
  return std::make_pair(std::move(device), f[static_cast<size_t>(c - 1) * k + last]);
}

// The many-device form of stages: one pipeline over the ordered devices, realised.
Result<SolverOutput> ordered_stages(const Problem& pr, const SolveContext& ctx) {
  auto split = ordered_split(pr, ctx);
  if (!split)
    return infeasible(ctx.stopped() ? "stages: the time limit came before the DP over " +
                                          std::to_string(pr.num_devices()) + " ordered devices finished"
                                    : "stages: no split into stages over the ordered devices fits them (memory, "
                                      "can-run and link rules leave none)");
  std::string why;
  auto realized = realize_pipeline(pr, ctx, split->first, &why);
  if (!realized) return infeasible("stages: the split over the ordered devices gives no plan (" + why + ")");
  int stages = 0;
  std::vector<int> seen;
  for (int d : split->first)
    if (std::find(seen.begin(), seen.end(), d) == seen.end()) seen.push_back(d), ++stages;
  SolverOutput out = std::move(realized->output);
  out.notes.push_back("stages: " + std::to_string(stages) + " stage(s) over " + std::to_string(pr.num_devices()) +
                      " devices in one fixed order (servers together; the exponential DP takes at most " +
                      std::to_string(StagesSolver::kMaxDevices) + "), DP estimate " + std::to_string(split->second) +
                      " us");
  return out;
}

}  // namespace

Result<SolverOutput> StagesSolver::run(const Problem& pr, const SolveContext& ctx) const {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  if (k > StagesSolver::kMaxDevices) return ordered_stages(pr, ctx);
  const std::vector<int>& topo = g.topo_order();
  std::vector<int> pos(n);
  for (int t = 0; t < n; ++t) pos[topo[t]] = t;
  // Prefix sums per device: compute, host input and output transfer time (finite parts, and how
  // many are infinite: cannot run there, no link to the host), resident weights.
  std::vector<std::vector<double>> work(k, std::vector<double>(n + 1, 0.0)), in(k, std::vector<double>(n + 1, 0.0)),
      out(k, std::vector<double>(n + 1, 0.0)), blocked(k, std::vector<double>(n + 1, 0.0));
  std::vector<double> mem(n + 1, 0.0), fastest(n + 1, 0.0);
  for (int t = 0; t < n; ++t) {
    const int v = topo[t];
    double best = kInf;
    for (int d = 0; d < k; ++d) {
      const double c = pr.cost_us(v, d), i = pr.input_us(v, d), o = pr.output_us(v, d);
      const bool ok = std::isfinite(c) && std::isfinite(i) && std::isfinite(o);
      work[d][t + 1] = work[d][t] + (ok ? c : 0.0);
      in[d][t + 1] = in[d][t] + (ok ? i : 0.0);
      out[d][t + 1] = out[d][t] + (ok ? o : 0.0);
      blocked[d][t + 1] = blocked[d][t] + (ok ? 0.0 : 1.0);
      best = std::min(best, c);
    }
    mem[t + 1] = mem[t] + pr.resident_bytes(v);
    fastest[t + 1] = fastest[t] + (std::isfinite(best) ? best : 0.0);
  }
  // Cut positions: all, or evenly spaced by cumulative fastest work on long graphs.
  std::vector<int> cut{0};
  const int want = max_positions(k);
  for (int t = 1; t < n; ++t)
    if (n <= want || fastest[t] * want / std::max(fastest[n], 1e-12) >= static_cast<int>(cut.size())) cut.push_back(t);
  cut.push_back(n);
  const int c = static_cast<int>(cut.size());
  // Transfer time of the tensors entering stage [cut[a], cut[b]) from device `from` to `to`:
  // each producer before the stage counted once, with its largest edge into the stage.
  std::vector<double> moved(n, -1.0);
  std::vector<int> touched;
  auto entering = [&](int a, int b, int from, int to) {
    double sum = 0;
    for (int t = cut[a]; t < cut[b]; ++t)
      for (int e : g.in_edges(topo[t])) {
        const int u = g.edges[e].src;
        if (pos[u] >= cut[a]) continue;
        const double x = pr.comm_us(e, from, to);
        if (moved[u] < 0)
          touched.push_back(u), moved[u] = x;
        else
          moved[u] = std::max(moved[u], x);
      }
    for (int u : touched) sum += moved[u], moved[u] = -1.0;
    touched.clear();
    return sum;
  };
  // f[b][mask][d]: least bottleneck over splits of cut[0..b) whose last stage ends at cut[b] on d.
  const int masks = 1 << k;
  const size_t cells = static_cast<size_t>(c) * masks * k;
  std::vector<double> f(cells, kInf);
  std::vector<int> from_a(cells, -1), from_d(cells, -1);
  auto at = [&](int b, int mask, int d) { return (static_cast<size_t>(b) * masks + mask) * k + d; };
  auto stage_cost = [&](int a, int b, int d, int prev) {
    if (blocked[d][cut[b]] > blocked[d][cut[a]]) return kInf;  // a node cannot run or reach the host there
    const double compute = work[d][cut[b]] - work[d][cut[a]];
    if (mem[cut[b]] - mem[cut[a]] > pr.capacity_bytes(d)) return kInf;
    double x = std::max({compute, in[d][cut[b]] - in[d][cut[a]], out[d][cut[b]] - out[d][cut[a]]});
    if (prev >= 0) x = std::max(x, entering(a, b, prev, d));
    return x;
  };
  // The best split of the order into stages on the devices of `allowed` (a mask): the device
  // per node and the DP's bottleneck estimate; nothing when none fits, or when the deadline
  // came first (then `stopped` is set: not searched is not "none fits").
  bool stopped = false;
  struct Split {
    std::vector<int> device;
    double estimate = kInf;
    int stages = 0;
  };
  auto split_on = [&](int allowed) -> std::optional<Split> {
    std::fill(f.begin(), f.end(), kInf);
    std::fill(from_a.begin(), from_a.end(), -1);
    std::fill(from_d.begin(), from_d.end(), -1);
    for (int b = 1; b < c; ++b) {
      if (ctx.stopped()) {
        stopped = true;
        return std::nullopt;
      }
      for (int d = 0; d < k; ++d) {
        if (!(allowed & (1 << d))) continue;
        const double first = stage_cost(0, b, d, -1);
        if (std::isfinite(first) && first < f[at(b, 1 << d, d)]) f[at(b, 1 << d, d)] = first;
      }
      for (int a = 1; a < b; ++a)
        for (int mask = 1; mask < masks; ++mask) {
          if ((mask & allowed) != mask) continue;
          for (int p = 0; p < k; ++p) {
            const double before = f[at(a, mask, p)];
            if (!std::isfinite(before)) continue;
            for (int d = 0; d < k; ++d) {
              if ((mask & (1 << d)) || !(allowed & (1 << d))) continue;
              const double x = std::max(before, stage_cost(a, b, d, p));
              const size_t cell = at(b, mask | (1 << d), d);
              if (x < f[cell]) f[cell] = x, from_a[cell] = a, from_d[cell] = p;
            }
          }
        }
    }
    size_t best = cells;
    for (int mask = 1; mask < masks; ++mask)
      for (int d = 0; d < k; ++d)
        if (best == cells || f[at(c - 1, mask, d)] < f[best]) best = at(c - 1, mask, d);
    if (best == cells || !std::isfinite(f[best])) return std::nullopt;
    Split out;
    out.device.assign(n, -1);
    out.estimate = f[best];
    for (size_t cell = best;;) {  // the stages, last to first
      const int b = static_cast<int>(cell / k / masks), mask = static_cast<int>(cell / k % masks),
                d = static_cast<int>(cell % k);
      const int a = from_a[cell] < 0 ? 0 : from_a[cell];
      for (int t = cut[a]; t < cut[b]; ++t) out.device[topo[t]] = d;
      ++out.stages;
      if (from_a[cell] < 0) break;
      cell = at(a, mask & ~(1 << d), from_d[cell]);
    }
    return out;
  };
  const std::optional<Split> whole = split_on(masks - 1);
  if (!whole && !stopped)
    return infeasible(
        "stages: no split into stages fits the devices (each runs a contiguous part of the order; "
        "memory and can-run rules leave none)");
  // Candidates: the one pipeline over all devices, and G = 2..4 pipelines on disjoint device
  // groups (devices dealt round-robin by speed) with lanes dealt over them by their estimates.
  struct Candidate {
    double estimate;
    std::vector<int> lane_group;  // per lane
    std::vector<Split> groups;
  };
  std::vector<Candidate> candidates;
  if (whole) candidates.push_back(Candidate{whole->estimate, {0}, {*whole}});
  std::vector<std::pair<double, int>> speed;  // (work of the whole model alone, device)
  for (int d = 0; d < k; ++d)
    if (blocked[d][n] == 0) speed.emplace_back(work[d][n], d);
  std::sort(speed.begin(), speed.end());
  for (int groups = 2; whole && groups <= std::min(kMaxGroups, static_cast<int>(speed.size())); ++groups) {
    if (ctx.stopped()) break;
    std::vector<int> mask(groups, 0);
    for (size_t i = 0; i < speed.size(); ++i) mask[i % groups] |= 1 << speed[i].second;
    std::vector<Split> splits;
    for (int gi = 0; gi < groups; ++gi)
      if (auto sp = split_on(mask[gi])) splits.push_back(std::move(*sp));
    if (static_cast<int>(splits.size()) < 2) continue;
    std::vector<double> rate;
    for (const Split& sp : splits) rate.push_back(1.0 / std::max(sp.estimate, 1e-12));
    for (int lanes = static_cast<int>(splits.size()); lanes <= kMaxLanes; ++lanes) {
      const std::vector<int> count = deal_lanes(rate, lanes);
      Candidate cand{0.0, {}, splits};
      for (size_t gi = 0; gi < splits.size(); ++gi)
        cand.estimate = std::max(cand.estimate, count[gi] * splits[gi].estimate / lanes);
      cand.lane_group = lane_order(count);
      candidates.push_back(std::move(cand));
    }
  }
  if (!candidates.empty())
    std::stable_sort(candidates.begin() + 1, candidates.end(),
                     [](const Candidate& x, const Candidate& y) { return x.estimate < y.estimate; });
  // Replay the single pipeline and the best few replicated ones; keep the best.
  StreamBest<SolverOutput> chosen;
  std::string first_error = stopped ? "the time limit came before the DP finished" : "";
  for (size_t ci = 0; ci < std::min<size_t>(candidates.size(), 1 + kReplayed); ++ci) {
    if (!chosen.empty() && ctx.stopped()) break;
    const Candidate& cand = candidates[ci];
    const int lanes = static_cast<int>(cand.lane_group.size());
    std::vector<int> device(static_cast<size_t>(lanes) * n);
    for (int l = 0; l < lanes; ++l)
      for (int v = 0; v < n; ++v) device[l * n + v] = cand.groups[cand.lane_group[l]].device[v];
    auto realized = realize_pipeline(pr, ctx, device, &first_error);
    if (!realized) continue;
    SolverOutput o = std::move(realized->output);
    {
      int stages = 0;
      for (const Split& sp : cand.groups) stages += sp.stages;
      o.notes.push_back("stages: " + std::to_string(cand.groups.size()) + " pipeline(s), " + std::to_string(stages) +
                        " stage(s) in all, " + std::to_string(lanes) + " lane(s), over " + std::to_string(c - 1) +
                        " cut positions; DP estimate " + std::to_string(cand.estimate) + " us" +
                        (realized->step > 0 ? "; delays step " + std::to_string(realized->step) : ""));
      chosen.offer(realized->rank, std::move(o));
    }
  }
  if (!chosen.empty()) return chosen.take();
  // The DP counts a stage's incoming tensors on the link from the previous stage; a tensor from
  // an earlier stage may need a link the platform lacks, or every split may break the latency
  // limit. Then the best single device that runs: what `fastest` gives.
  auto alone = FastestSolver().run(pr, ctx);
  if (!alone)
    return infeasible("stages: no split the DP proposed gives a plan (" + first_error +
                      "), and no single device runs the whole model within the limits");
  alone->notes.assign(
      1, "stages: no split the DP proposed gives a plan (" + first_error + "); kept the best single device");
  return alone;
}

}  // namespace diviml
