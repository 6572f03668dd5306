#include "diviml/solvers/streams.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <queue>
#include <tuple>

#include "diviml/objective/memory.hpp"
#include "diviml/objective/throughput.hpp"

namespace diviml {

double StreamLoads::max_load() const {
  double m = 0;
  for (double x : device) m = std::max(m, x);
  for (double x : link) m = std::max(m, x);
  for (double x : nic) m = std::max(m, x);
  return m;
}

void StreamLoads::add_copy(const Platform& platform, int from, int to, double x) {
  link[static_cast<size_t>(from) * device.size() + to] += x;
  if (platform.crosses_servers(from, to)) {
    nic[from] += x;
    nic[device.size() + to] += x;
  }
  for (int d : {from, to})
    if (!platform.devices[d].overlap_comm) device[d] += x;
}

StreamLoads stream_loads(const Problem& pr, const std::vector<int>& device) {
  const int n = pr.num_nodes(), k = pr.num_devices(), host = pr.platform().host;
  const int lanes = static_cast<int>(device.size()) / n;
  StreamLoads s(k);
  std::vector<double> to;
  for (int l = 0; l < lanes; ++l)
    for (int u = 0; u < n; ++u) {
      const int a = device[l * n + u];
      s.device[a] += pr.can_run(u, a) ? pr.cost_us(u, a) : kInf;
      tensor_moves(
          pr, u, a, [&](int w) { return device[l * n + w]; }, to);
      for (int b = 0; b < k; ++b)
        if (to[b] > 0) s.add_copy(pr.platform(), a, b, to[b]);
      const double in = pr.input_us(u, a), out = pr.output_us(u, a);
      if (in > 0) s.add_copy(pr.platform(), host, a, in);
      if (out > 0) s.add_copy(pr.platform(), a, host, out);
    }
  return s;
}

Mapping pipelined_mapping(const Problem& pr, const std::vector<int>& device, int step) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  const int lanes = static_cast<int>(device.size()) / n;
  Mapping m;
  m.device = device;
  m.order.assign(k, {});
  if (step > 0) m.delay.assign(device.size(), 0);
  for (int l = 0; l < lanes; ++l)
    for (int v : g.topo_order()) {
      const int t = l * n + v;
      m.order[device[t]].push_back(t);
      if (step <= 0) continue;
      int d = 0;
      for (int e : g.in_edges(v)) {
        const int tu = l * n + g.edges[e].src;
        d = std::max(d, m.delay[tu] + (device[tu] != device[t] ? step : 0));
      }
      m.delay[t] = std::min(d, kMaxDelay);
    }
  return m;
}

namespace {

// Busy intervals of one resource within a round [0, length): earliest fitting start.
class Reservations {
 public:
  explicit Reservations(double length) : length_(length) {}
  // The earliest t >= ready at which [t, t + duration) is free in every round; -1 when none.
  double earliest(double ready, double duration) const {
    if (duration <= 0) return ready;
    if (duration > length_ * (1 - 1e-12)) return busy_.empty() ? ready : -1;
    const double base = std::floor(ready / length_) * length_;
    double t = ready - base;  // offset within the round, try up to two rounds ahead
    for (int guard = 0; guard < 3 * static_cast<int>(busy_.size()) + 4; ++guard) {
      double clash = -1;
      if (!overlaps(t, duration, &clash)) return base + t;
      t = clash;  // the end of the interval that clashed
      if (t >= 2 * length_) return -1;
    }
    return -1;
  }
  void reserve(double t, double duration) {
    if (duration <= 0) return;
    double s = std::fmod(t, length_);
    if (s + duration <= length_) {
      busy_[s] = s + duration;
    } else {
      busy_[s] = length_;
      busy_[0] = s + duration - length_;
    }
  }

 private:
  // Whether [t, t + d) (t in [0, 2 length)) meets a busy interval; `clash` = its end, unrolled.
  bool overlaps(double t, double d, double* clash) const {
    for (double shift : {0.0, length_, 2 * length_}) {
      for (const auto& [s0, e0] : busy_) {
        const double s = s0 + shift, e = e0 + shift;
        if (s < t + d - 1e-9 && t < e - 1e-9) {
          *clash = e;
          return true;
        }
      }
    }
    return false;
  }
  double length_;
  std::map<double, double> busy_;
};

// Each node's position in the graph's topological order.
std::vector<int> topo_positions(const Graph& g) {
  std::vector<int> pos(g.nodes.size());
  for (size_t i = 0; i < g.topo_order().size(); ++i) pos[g.topo_order()[i]] = static_cast<int>(i);
  return pos;
}

// The decision of a static schedule modulo a round: a task's delay is its start's round, its
// device order the starts within the round (then lane and topological position). Nothing when
// a delay would exceed kMaxDelay.
std::optional<Mapping> mapping_of_starts(const Problem& pr, const std::vector<int>& device,
                                         const std::vector<double>& start, double round_us) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  Mapping m;
  m.device = device;
  m.order.assign(k, {});
  m.delay.assign(device.size(), 0);
  std::vector<std::vector<std::tuple<double, int, int>>> by(k);  // (offset in round, topo position, task)
  const std::vector<int> pos = topo_positions(g);
  for (size_t t = 0; t < device.size(); ++t) {
    const double q = std::floor(start[t] / round_us + 1e-12);
    if (q > kMaxDelay) return std::nullopt;
    m.delay[t] = static_cast<int>(q);
    const double offset = std::max(0.0, start[t] - q * round_us);
    by[device[t]].emplace_back(offset, static_cast<int>(t / n) * n + pos[t % n], static_cast<int>(t));
  }
  for (int d = 0; d < k; ++d) {
    std::sort(by[d].begin(), by[d].end());
    for (const auto& [o, p, t] : by[d]) m.order[d].push_back(t);
  }
  return m;
}

}  // namespace

std::optional<Mapping> modulo_mapping(const Problem& pr, const std::vector<int>& device, double round_us) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices(), host = pr.platform().host;
  const int lanes = static_cast<int>(device.size()) / n;
  if (!(round_us > 0) || !std::isfinite(round_us)) return std::nullopt;
  std::vector<Reservations> dev(k, Reservations(round_us));
  std::vector<Reservations> link(static_cast<size_t>(k) * k, Reservations(round_us));
  std::vector<Reservations> nic(2 * static_cast<size_t>(k), Reservations(round_us));  // ways out, then in
  // A copy from a to b: the earliest start >= ready free on its link (and between servers on a's
  // way out and b's way in) in every round, reserved there; -1 when none.
  auto place_copy = [&](int a, int b, double ready, double duration) {
    Reservations& lk = link[static_cast<size_t>(a) * k + b];
    if (!pr.platform().crosses_servers(a, b)) {
      const double s = lk.earliest(ready, duration);
      if (s >= 0) lk.reserve(s, duration);
      return s;
    }
    Reservations* all[] = {&lk, &nic[a], &nic[static_cast<size_t>(k) + b]};
    double s = ready;
    for (int guard = 0; guard < 64; ++guard) {
      double latest = s;
      for (Reservations* res : all) {
        const double t = res->earliest(latest, duration);
        if (t < 0) return -1.0;
        latest = std::max(latest, t);
      }
      if (latest <= s + 1e-9) {
        for (Reservations* res : all) res->reserve(s, duration);
        return s;
      }
      s = latest;
    }
    return -1.0;
  };
  std::vector<double> start(device.size(), 0.0), end(device.size(), 0.0), ready(device.size(), 0.0);
  // Arrival of each task's inputs per (producer task, destination device): the move's end.
  std::vector<double> arrive(k, 0.0);
  for (int l = 0; l < lanes; ++l) {
    const double inject = round_us * l / lanes;
    for (int v : g.topo_order()) ready[l * n + v] = inject;
  }
  for (int l = 0; l < lanes; ++l)
    for (int v : g.topo_order()) {
      const int t = l * n + v, d = device[t];
      double r = ready[t];
      const double in = pr.input_us(v, d);
      if (in > 0) {
        const double s = place_copy(host, d, r, in);
        if (s < 0) return std::nullopt;
        r = s + in;
      }
      const double c = pr.cost_us(v, d);
      const double s = dev[d].earliest(r, c);
      if (s < 0) return std::nullopt;
      dev[d].reserve(s, c);
      start[t] = s;
      end[t] = s + c;
      // Its tensor: once per destination device, the largest edge there.
      tensor_moves(
          pr, v, d, [&](int w) { return device[l * n + w]; }, arrive);
      for (int b = 0; b < k; ++b) {
        if (arrive[b] < 0) continue;
        const double ms = place_copy(d, b, end[t], arrive[b]);
        if (ms < 0) return std::nullopt;
        arrive[b] = ms + arrive[b];
      }
      for (int e : g.out_edges(v)) {
        const int w = l * n + g.edges[e].dst, b = device[w];
        ready[w] = std::max(ready[w], b == d ? end[t] : arrive[b]);
      }
      const double out = pr.output_us(v, d);
      if (out > 0 && place_copy(d, host, end[t], out) < 0) return std::nullopt;
    }
  return mapping_of_starts(pr, device, start, round_us);
}

namespace {

// One resource of a packed modulo schedule: its intervals stay contiguous modulo the round but
// for gaps that add up to at most the round's slack over its load (so they never overlap
// modulo the round, and no task ever fails to find room).
class Packed {
 public:
  Packed(double round, double load) : round_(round), slack_(round - load) {}
  // The start of an interval of `duration` that may not begin before `ready`.
  double place(double ready, double duration) {
    if (duration <= 0) return ready;
    double start = ready;
    if (end_ >= 0 && ready > end_) {
      const double gap = ready - end_;
      if (gap <= slack_) {
        slack_ -= gap;
      } else {
        // Whole rounds keep the position modulo the round; the slack covers the remainder.
        const double rounds = std::ceil((gap - slack_) / round_ - 1e-12);
        const double rest = std::max(0.0, gap - rounds * round_);
        slack_ -= rest;
        start = end_ + rounds * round_ + rest;
      }
    } else if (end_ >= 0) {
      start = end_;
    }
    end_ = start + duration;
    return start;
  }

 private:
  double round_, slack_;  // slack: the gaps still allowed
  double end_ = -1;       // absolute end of the last interval (-1: none yet)
};

}  // namespace

std::optional<Mapping> packed_modulo_mapping(const Problem& pr, const std::vector<int>& device, double round_us) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices(), host = pr.platform().host;
  const int lanes = static_cast<int>(device.size()) / n;
  const int tasks = static_cast<int>(device.size());
  if (!(round_us > 0) || !std::isfinite(round_us)) return std::nullopt;
  // Copies that occupy a device would need two resources at once: not packed here.
  for (const Device& d : pr.platform().devices)
    if (!d.overlap_comm) return std::nullopt;
  const StreamLoads loads = stream_loads(pr, device);
  if (loads.max_load() > round_us * (1 + 1e-9)) return std::nullopt;
  std::vector<Packed> dev, link, nic;
  for (int d = 0; d < k; ++d) dev.emplace_back(round_us, loads.device[d]);
  for (double x : loads.link) link.emplace_back(round_us, x);
  for (double x : loads.nic) nic.emplace_back(round_us, x);
  // A copy's start: on its link, then between servers on a's way out and b's way in (each from
  // the last one's start: the three are not searched together, the replay decides the times).
  auto place_copy = [&](int a, int b, double ready, double duration) {
    double s = link[static_cast<size_t>(a) * k + b].place(ready, duration);
    if (pr.platform().crosses_servers(a, b)) {
      s = nic[a].place(s, duration);
      s = nic[static_cast<size_t>(k) + b].place(s, duration);
    }
    return s;
  };
  std::vector<double> start(tasks, 0.0), ready(tasks, 0.0), arrive;
  std::vector<int> need(tasks, 0);
  for (int t = 0; t < tasks; ++t) {
    ready[t] = round_us * (t / n) / lanes;  // its lane's injection
    need[t] = static_cast<int>(g.in_edges(t % n).size());
  }
  // Host inputs leave at their lane's injection, in node order (as the replay queues them).
  for (int t = 0; t < tasks; ++t) {
    const double in = pr.input_us(t % n, device[t]);
    if (in > 0) ready[t] = place_copy(host, device[t], ready[t], in) + in;
  }
  const std::vector<int> pos = topo_positions(g);
  // List scheduling: the task whose inputs arrive first (then lane, then topological position).
  using Item = std::tuple<double, int, int>;
  std::priority_queue<Item, std::vector<Item>, std::greater<Item>> open;
  for (int t = 0; t < tasks; ++t)
    if (need[t] == 0) open.emplace(ready[t], (t / n) * n + pos[t % n], t);
  while (!open.empty()) {
    const int t = std::get<2>(open.top());
    open.pop();
    const int v = t % n, l = t / n, d = device[t];
    const double c = pr.cost_us(v, d);
    start[t] = dev[d].place(ready[t], c);
    const double end = start[t] + c;
    tensor_moves(
        pr, v, d, [&](int w) { return device[l * n + w]; }, arrive);
    for (int b = 0; b < k; ++b)
      if (arrive[b] >= 0) arrive[b] += place_copy(d, b, end, arrive[b]);
    const double out = pr.output_us(v, d);
    if (out > 0) place_copy(d, host, end, out);
    for (int e : g.out_edges(v)) {
      const int w = l * n + g.edges[e].dst, b = device[w];
      ready[w] = std::max(ready[w], b == d ? end : arrive[b]);
      if (--need[w] == 0) open.emplace(ready[w], (w / n) * n + pos[w % n], w);
    }
  }
  return mapping_of_starts(pr, device, start, round_us);
}

std::optional<Mapping> paced_within(const Problem& pr, const SolveContext& ctx, Mapping m) {
  auto paced = [&](double pace) -> std::optional<Plan> {
    m.pace_us = pace;
    auto plan = ctx.objective->evaluate(pr, m);
    return plan ? std::optional<Plan>(std::move(*plan)) : std::nullopt;
  };
  auto good = [&](const Plan& p) { return fits_memory(pr, p) && std::isfinite(ctx.score(p)); };
  std::optional<Plan> fastest = paced(0);
  if (!fastest) return std::nullopt;
  if (good(*fastest)) {
    m.pace_us = 0;
    return m;
  }
  // One input at a time: paced far beyond its latency, then at that latency alone.
  std::optional<Plan> alone = paced(1e3 * std::max(fastest->latency_us, 1.0));
  if (alone) alone = paced(alone->latency_us * (1 + 1e-6));
  if (!alone || !good(*alone)) return std::nullopt;
  // The latency and the inputs in flight fall as the pace grows: bisect (geometrically) for
  // the least pace that meets both.
  double lo = fastest->period_us, hi = alone->period_us;
  for (int i = 0; i < 10 && hi > lo * (1 + 1e-3) && !(ctx.stopped() && i > 0); ++i) {
    const double mid = std::sqrt(lo * hi);
    std::optional<Plan> p = paced(mid);
    if (p && good(*p))
      hi = p->period_us;
    else
      lo = mid;
  }
  m.pace_us = hi;
  return m;
}

StreamRank stream_rank(const Problem& pr, const SolveContext& ctx, const Plan& plan) {
  return StreamRank{fits_memory(pr, plan), ctx.score(plan), plan.latency_us};
}

std::optional<Realized> realize_pipeline(const Problem& pr, const SolveContext& ctx, const std::vector<int>& device,
                                         std::string* why) {
  // Weights stay resident once per device that runs a node in any lane: a choice that does not
  // fit is no plan (the search starts from replicas that may not fit).
  const std::vector<double> mem = resident_bytes(pr, device);
  for (int d = 0; d < pr.num_devices(); ++d)
    if (mem[d] > pr.capacity_bytes(d)) {
      if (why && why->empty()) *why = "the weights do not fit in '" + pr.platform().devices[d].name + "'";
      return std::nullopt;
    }
  StreamBest<std::pair<Mapping, int>> found;  // (decision, step)
  const double lanes = static_cast<double>(device.size()) / pr.num_nodes();
  const double load = stream_loads(pr, device).max_load();  // per round of the choice's lanes
  const double busiest = load / lanes;
  auto consider = [&](Mapping m, int step) {
    auto plan = ctx.objective->evaluate(pr, m);
    if (!plan) {
      if (why && why->empty()) *why = plan.error().message;
      return;
    }
    // No period can be below the busiest resource's load per input (the replay starts its
    // search there); a replay that says otherwise is not trusted and the decision dropped.
    if (plan->period_us < busiest * (1 - 1e-6)) return;
    const StreamRank rank = stream_rank(pr, ctx, *plan);
    if (!std::isfinite(rank.period)) {
      if (why && why->empty())
        *why = "one input takes " + std::to_string(plan->latency_us) + " us, above --max-latency-us";
      return;
    }
    found.offer(rank, {std::move(m), step});
  };
  // Settled once a decision that fits memory reaches the busiest load (within the tolerance):
  // the other decisions tried after that could only trade latency within the tolerance.
  auto settled = [&] {
    return !found.empty() && found.best_rank()->fits && found.least_period() <= busiest * (1 + kPeriodTolerance);
  };
  // A static schedule at a round of `load * slack` has a period of at least that per input:
  // not tried when it could not come within the tolerance of the least period found.
  auto could_contend = [&](double slack) {
    return found.empty() || !found.best_rank()->fits ||
           load * slack / lanes <= found.least_period() * (1 + kPeriodTolerance);
  };
  auto packed = [&](double slack) {
    if ((!found.empty() && ctx.stopped()) || !could_contend(slack)) return;
    if (auto m = packed_modulo_mapping(pr, device, load * slack)) consider(std::move(*m), -2);
  };
  auto table = [&](double slack) {
    if ((!found.empty() && ctx.stopped()) || !could_contend(slack)) return;
    if (auto m = modulo_mapping(pr, device, load * slack)) consider(std::move(*m), -1);
  };
  // The decisions that can reach the load, least latency first; then the rest only when none of
  // them did.
  consider(pipelined_mapping(pr, device, 0), 0);
  packed(1.0);
  table(1.0);
  table(1 + kPeriodTolerance / 2);
  for (int step = 1; step <= 2; ++step) {
    if (!found.empty() && ctx.stopped()) break;
    Mapping m = pipelined_mapping(pr, device, step);
    if (std::all_of(m.delay.begin(), m.delay.end(), [](int x) { return x == 0; })) break;
    consider(std::move(m), step);
  }
  // A little slack saves rounds of waiting (latency); tables need slack where the round
  // fragments.
  if (!settled())
    for (double slack : {1.02, 1.1}) packed(slack);
  if (!settled())
    for (double slack : {1.05, 1.15, 1.3}) table(slack);
  // Pacing: where no decision meets the latency limit, or none fits memory, step 0's decision
  // at the least pace that does.
  const bool limited = ctx.options.max_latency_us > 0;
  if ((limited && found.empty()) || (!found.empty() && !found.best_rank()->fits))
    if (auto m = paced_within(pr, ctx, pipelined_mapping(pr, device, 0))) consider(std::move(*m), 0);
  if (found.empty()) return std::nullopt;
  Realized out;
  out.rank = *found.best_rank();
  out.score = out.rank.period;
  auto [mapping, step] = found.take();
  out.output.mapping = std::move(mapping);
  out.step = step;
  return out;
}

}  // namespace diviml
