#include "diviml/solvers/replicas.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <tuple>

#include "diviml/objective/replay.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/streams.hpp"

namespace diviml {

namespace {

// Lanes dealt: up to 16, or up to four per device used (many devices of unequal speeds need
// lanes in proportion to speed: on six-srv's 25 devices one lane each holds every device to the
// slowest one's pace) while the round has at most kMaxTasks tasks.
constexpr int kMaxLanes = 16;
constexpr int kLanesPerDevice = 4;
constexpr int kMaxTasks = 10000;
constexpr int kReplayed = 3;

}  // namespace

Result<SolverOutput> ReplicasSolver::run(const Problem& pr, const SolveContext& ctx) const {
  const int n = pr.num_nodes(), k = pr.num_devices();
  const auto& topo = pr.graph().topo_order();
  const Objective& objective = *ctx.objective;
  // Devices that hold the whole model, and the period of each with it alone.
  std::vector<std::pair<double, int>> fit;  // (own period, device)
  std::string why;
  for (int d = 0; d < k; ++d) {
    if (!fit.empty() && ctx.stopped()) break;  // the deadline: the devices replayed so far
    double mem = 0;
    bool runs = true;
    for (int v = 0; v < n && runs; ++v) runs = pr.can_run(v, d), mem += pr.resident_bytes(v);
    if (!runs || mem > pr.capacity_bytes(d)) continue;
    auto one = objective.evaluate(pr, mapping_from_priority(pr, std::vector<int>(n, d), topo));
    if (!one) {
      if (why.empty()) why = one.error().message;
      continue;
    }
    fit.emplace_back(std::max(objective.value(*one), 1e-9), d);
  }
  if (fit.empty())
    return infeasible("replicas: no device can run and hold the whole model" + (why.empty() ? "" : " (" + why + ")"));
  std::sort(fit.begin(), fit.end());
  // A lane on a device of another server than the host's moves its input out of the host's
  // server and its output back in, through the host's NIC share one copy at a time (Platform::
  // crosses_servers): per device, the time a lane there takes of the host's way out and in.
  const int host = pr.platform().host;
  std::vector<double> nic_out(k, 0.0), nic_in(k, 0.0);
  for (int d = 0; d < k; ++d)
    if (pr.platform().crosses_servers(host, d))
      for (int v = 0; v < n; ++v) nic_out[d] += pr.input_us(v, d), nic_in[d] += pr.output_us(v, d);
  // Devices in two orders: by speed, and the host's server first (by speed within each part);
  // the fastest `used` of an order get the lanes.
  std::vector<std::vector<std::pair<double, int>>> orders = {fit};
  if (pr.platform().has_shared_server_links()) {
    std::vector<std::pair<double, int>> near = fit;
    std::stable_partition(near.begin(), near.end(),
                          [&](const auto& f) { return !pr.platform().crosses_servers(host, f.second); });
    if (near != fit) orders.push_back(std::move(near));
  }
  // Candidates (analytic period, lanes, devices used, lanes per device, order), the best few
  // replayed.
  std::vector<std::tuple<double, int, int, std::vector<int>, int>> candidates;
  for (int o = 0; o < static_cast<int>(orders.size()); ++o) {
    const auto& by = orders[o];
    for (int used = 1; used <= static_cast<int>(by.size()); ++used) {
      std::vector<double> speed;
      for (int i = 0; i < used; ++i) speed.push_back(1.0 / by[i].first);
      const int most = std::max({used, kMaxLanes, std::min(kLanesPerDevice * used, kMaxTasks / std::max(n, 1))});
      for (int lanes = used; lanes <= most; ++lanes) {
        const std::vector<int> count = deal_lanes(speed, lanes);
        double period = 0, out = 0, in = 0;
        for (int i = 0; i < used; ++i) {
          period = std::max(period, count[i] * by[i].first / lanes);
          out += count[i] * nic_out[by[i].second];
          in += count[i] * nic_in[by[i].second];
        }
        period = std::max({period, out / lanes, in / lanes});
        candidates.emplace_back(period, lanes, used, count, o);
      }
    }
  }
  std::sort(candidates.begin(), candidates.end());
  StreamBest<SolverOutput> best;
  std::string tried;
  // The best few candidates by estimate that meet the latency limit, if any (most compliant
  // candidates first come late: fewer, faster devices).
  int replayed = 0;
  for (size_t c = 0; c < candidates.size() && replayed < kReplayed; ++c) {
    if (!best.empty() && ctx.stopped()) break;
    const auto& [estimate, lanes, used, count, o] = candidates[c];
    std::vector<int> lane_device = lane_order(count);
    for (int& d : lane_device) d = orders[o][d].second;
    SolverOutput out;
    out.mapping.device.assign(static_cast<size_t>(lanes) * n, -1);
    out.mapping.order.assign(k, {});
    for (int l = 0; l < lanes; ++l)
      for (int v : topo) {
        out.mapping.device[l * n + v] = lane_device[l];
        out.mapping.order[lane_device[l]].push_back(l * n + v);
      }
    auto plan = objective.evaluate(pr, out.mapping);
    if (!plan) return internal_error("replicas: " + plan.error().message);
    const StreamRank rank = stream_rank(pr, ctx, *plan);
    if (!std::isfinite(rank.period)) continue;  // above --max-latency-us
    ++replayed;
    tried += " " + std::to_string(lanes) + " lanes on " + std::to_string(used) +
             " device(s): " + std::to_string(rank.period) + " us;";
    out.notes.push_back("replicas: " + std::to_string(lanes) + " lane(s) on " + std::to_string(used) +
                        " device(s), estimated period " + std::to_string(estimate) + " us");
    best.offer(rank, std::move(out));
  }
  if (best.empty())
    return infeasible("replicas: no dealing of whole-model replicas keeps one input within --max-latency-us " +
                      std::to_string(ctx.options.max_latency_us) + " us");
  SolverOutput chosen = best.take();
  chosen.notes.push_back("replicas tried:" + tried);
  return chosen;
}

}  // namespace diviml
