#include "diviml/solvers/stages.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

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

}  // namespace

Result<SolverOutput> StagesSolver::run(const Problem& pr, const SolveContext& ctx) const {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  if (k > StagesSolver::kMaxDevices)
    return usage_error("stages: more than " + std::to_string(StagesSolver::kMaxDevices) +
                       " devices (the DP is exponential in them)");
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
