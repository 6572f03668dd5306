#include "diviml/objective/memory.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>

namespace diviml {

namespace {

using Events = std::vector<std::vector<std::pair<double, double>>>;  // per device: (time, +bytes / -bytes)

// The intervals of one lane's tasks (one inference), as documented in memory.hpp. `at` holds the
// lane's placements by node; `transfers` its copies. A stream's task of delay q works, in the
// recorded round, on the input injected q rounds before: on that input's clock its times, and
// those of the moves it makes (a host input: its consumer's), are q rounds (`round` us) later.
void lane_intervals(const Problem& pr, const std::vector<const Placement*>& at,
                    const std::vector<const Transfer*>& transfers, const std::vector<const HostTransfer*>& host,
                    double round, const std::function<void(int, double, double, double)>& hold) {
  const Graph& g = pr.graph();
  const int n = pr.num_nodes();
  auto shift = [&](int v) { return at[v] ? at[v]->delay * round : 0.0; };
  auto start_of = [&](int v) { return at[v]->start_us + shift(v); };
  auto end_of = [&](int v) { return at[v]->end_us + shift(v); };
  // Copies: (producer, destination) -> (end, the largest edge they serve).
  std::map<std::pair<int, int>, std::pair<double, double>> copy_end;
  std::vector<double> out_until(n, 0.0);
  for (const Transfer* t : transfers) {
    const Edge& e = g.edges[t->edge];
    auto& c = copy_end[{e.src, t->to}];
    c.first = std::max(c.first, t->end_us + shift(e.src));
    c.second = std::max(c.second, e.bytes);
    out_until[e.src] = std::max(out_until[e.src], t->end_us + shift(e.src));
  }
  // Host transfers' ends, where the plan lists them (a stream queues them on the host's links);
  // else the input arrives at input_us (one inference starts at 0) and the output leaves at once.
  std::vector<double> input_end(n, -1), output_end(n, -1);
  for (const HostTransfer* h : host)
    if (h->node >= 0 && h->node < n) (h->to_host ? output_end : input_end)[h->node] = h->end_us + shift(h->node);
  for (int v = 0; v < n; ++v) {
    if (!at[v]) continue;
    const Placement& p = *at[v];
    const double start = start_of(v), end = end_of(v);
    hold(p.device, start, end, g.nodes[v].workspace_bytes);
    if (g.nodes[v].input_bytes > 0) {
      const double arrival = input_end[v] >= 0 ? input_end[v] : pr.input_us(v, p.device);
      hold(p.device, std::min(start, arrival), end, g.nodes[v].input_bytes);
    }
    // The output: until its local consumers, its copies and its return to the host are done.
    double size = g.nodes[v].output_bytes.value_or(0.0);
    double until = std::max(end, out_until[v]);
    if (g.out_edges(v).empty())
      until = std::max(until, output_end[v] >= 0 ? output_end[v] : end + pr.output_us(v, p.device));
    for (int e : g.out_edges(v)) {
      if (!g.nodes[v].output_bytes) size = std::max(size, g.edges[e].bytes);
      const int w = g.edges[e].dst;
      if (at[w] && at[w]->device == p.device) until = std::max(until, end_of(w));
    }
    hold(p.device, start, until, size);
  }
  // Received tensors: from the copy's end until the last consumer there ends; the largest edge
  // to a consumer there is what travelled (a stream lists one move per producer and device).
  for (const auto& [key, c] : copy_end) {
    const auto [u, b] = key;
    double until = c.first, bytes = c.second;
    for (int e : g.out_edges(u)) {
      const int w = g.edges[e].dst;
      if (at[w] && at[w]->device == b) until = std::max(until, end_of(w)), bytes = std::max(bytes, g.edges[e].bytes);
    }
    hold(b, c.first, until, bytes);
  }
}

}  // namespace

MemoryProfile memory_profile(const Problem& pr, const Plan& plan) {
  const int n = pr.num_nodes(), k = pr.num_devices();
  MemoryProfile out;
  out.resident_bytes.assign(k, 0.0);
  out.peak_bytes.assign(k, 0.0);
  out.peak_at_us.assign(k, 0.0);
  out.steps.assign(k, {});
  const bool stream = plan.objective == "throughput" && plan.period_us > 0;
  const int lanes = stream ? std::max(1, plan.lanes) : 1;
  const double round = stream ? lanes * plan.period_us : 0.0;
  std::vector<std::vector<const Placement*>> at(lanes, std::vector<const Placement*>(n, nullptr));
  std::vector<std::vector<const Transfer*>> copies(lanes);
  std::vector<std::vector<const HostTransfer*>> host(lanes);
  std::vector<std::vector<bool>> runs(k, std::vector<bool>(n, false));
  for (const Placement& p : plan.placements) {
    const int lane = stream ? p.lane : 0;
    if (p.node < 0 || p.node >= n || p.device < 0 || p.device >= k || lane < 0 || lane >= lanes) continue;
    at[lane][p.node] = &p;
    runs[p.device][p.node] = true;
  }
  for (const Transfer& t : plan.transfers) {
    const int lane = stream ? t.lane : 0;
    if (lane >= 0 && lane < lanes && t.edge >= 0 && t.edge < pr.graph().num_edges()) copies[lane].push_back(&t);
  }
  for (const HostTransfer& h : plan.host_transfers) {
    const int lane = stream ? h.lane : 0;
    if (lane >= 0 && lane < lanes) host[lane].push_back(&h);
  }
  for (int d = 0; d < k; ++d)
    for (int v = 0; v < n; ++v)
      if (runs[d][v]) out.resident_bytes[d] += pr.resident_bytes(v);
  Events events(k);
  std::vector<double> always(k, 0.0);  // a round's worth of copies of long intervals (streams)
  auto hold = [&](int d, double from, double to, double bytes) {
    if (bytes <= 0 || to <= from) return;
    if (!stream) {
      events[d].emplace_back(from, bytes);
      events[d].emplace_back(to, -bytes);
      return;
    }
    // Periodic: the interval and its repeats every round, seen within one round [0, round).
    const double length = to - from;
    const double full = std::floor(length / round);
    always[d] += full * bytes;
    const double rest = length - full * round;
    if (rest <= 0) return;
    // Both ends by the same fmod, so that a tensor freed at a phase and one made there do not
    // overlap by a rounding error.
    auto phase = [&](double t) {
      const double p = std::fmod(t, round);
      return p < 0 ? p + round : p;
    };
    const double a = phase(from), b = phase(to);
    if (a < b) {
      events[d].emplace_back(a, bytes);
      events[d].emplace_back(b, -bytes);
    } else if (b < a) {
      events[d].emplace_back(a, bytes);
      events[d].emplace_back(round, -bytes);
      events[d].emplace_back(0.0, bytes);
      events[d].emplace_back(b, -bytes);
    } else if (rest > 0.5 * round) {
      always[d] += bytes;  // a whole round but for a rounding error
    }
  };
  for (int lane = 0; lane < lanes; ++lane) lane_intervals(pr, at[lane], copies[lane], host[lane], round, hold);
  for (int d = 0; d < k; ++d) {
    auto& ev = events[d];
    // A stream's phases come from different sums and a modulo: times a rounding error apart are
    // one time (the first of them), so that a tensor freed at the end of one round's task and one
    // made by the next round's task at the same instant do not add up; frees come first there.
    if (stream) {
      std::sort(ev.begin(), ev.end());
      const double grain = 1e-9 * std::max(1.0, round);
      for (size_t i = 0, first = 0; i < ev.size(); ++i) {
        if (ev[i].first - ev[first].first > grain) first = i;
        ev[i].first = ev[first].first;
      }
    }
    std::sort(ev.begin(), ev.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second < b.second;
    });
    double now = out.resident_bytes[d] + always[d];
    out.peak_bytes[d] = now;
    out.steps[d].emplace_back(0.0, now);
    for (size_t i = 0; i < ev.size(); ++i) {
      now += ev[i].second;
      if (i + 1 < ev.size() && ev[i + 1].first == ev[i].first) continue;  // one step per time
      if (now > out.peak_bytes[d] + 1e-9 * std::max(1.0, now)) out.peak_bytes[d] = now, out.peak_at_us[d] = ev[i].first;
      if (out.steps[d].back().first == ev[i].first)
        out.steps[d].back().second = now;
      else
        out.steps[d].emplace_back(ev[i].first, now);
    }
  }
  return out;
}

bool fits_memory(const Problem& pr, const Plan& plan) {
  bool limited = false;
  for (int d = 0; d < pr.num_devices(); ++d) limited |= std::isfinite(pr.capacity_bytes(d));
  if (!limited) return true;
  const MemoryProfile m = memory_profile(pr, plan);
  for (int d = 0; d < pr.num_devices(); ++d)
    if (m.peak_bytes[d] > pr.capacity_bytes(d) * (1 + 1e-9) + 1e-6) return false;
  return true;
}

std::string bytes_text(double bytes) {
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (i < 4 && std::abs(bytes) >= 1024) bytes /= 1024, ++i;
  char buf[64];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f %s" : "%.3g %s", bytes, unit[i]);
  return buf;
}

std::string memory_shortfall(const Problem& pr, bool over_time) {
  const Platform& pf = pr.platform();
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  double need = 0, have = 0;
  for (int d = 0; d < k; ++d) have += pr.capacity_bytes(d);
  for (int v = 0; v < n; ++v) {
    const double r = pr.resident_bytes(v);
    need += r;
    int best = -1;
    for (int d = 0; d < k; ++d)
      if (pr.can_run(v, d) && (best < 0 || pr.capacity_bytes(d) > pr.capacity_bytes(best))) best = d;
    if (best >= 0 && r > pr.capacity_bytes(best))
      return "node '" + pr.graph().nodes[v].id + "' needs " + bytes_text(r) +
             " of weights and state; the largest device that can run it, '" + pf.devices[best].name + "', has " +
             bytes_text(pr.capacity_bytes(best));
  }
  for (int c = 0; c < pr.num_groups(); ++c) {
    const double r = pr.group_resident_bytes(c);
    int best = -1;
    for (int d = 0; d < k; ++d)
      if (pr.group_runs(c, d) && (best < 0 || pr.capacity_bytes(d) > pr.capacity_bytes(best))) best = d;
    if (best >= 0 && r > pr.capacity_bytes(best))
      return "colocate group '" + pr.group_name(c) + "' needs " + bytes_text(r) +
             " of weights and state on one device; the largest device that can run all its members, '" +
             pf.devices[best].name + "', has " + bytes_text(pr.capacity_bytes(best));
  }
  // While a node runs (for any time), its device holds its weights and state, its workspace,
  // its model input, its output and one tensor per producer (a local output or a received
  // copy, at least the edge it reads).
  double busiest = 0;  // the largest working set beyond a node's own weights and state
  int busiest_node = -1;
  for (int v = 0; v < n && over_time; ++v) {
    const Node& node = g.nodes[v];
    double work = pr.resident_bytes(v) + node.workspace_bytes + node.input_bytes;
    double out = node.output_bytes.value_or(0.0);
    for (int e : g.out_edges(v))
      if (!node.output_bytes) out = std::max(out, g.edges[e].bytes);
    std::map<int, double> read;
    for (int e : g.in_edges(v)) {
      const Edge& edge = g.edges[e];
      const std::optional<double>& made = g.nodes[edge.src].output_bytes;
      double& r = read[edge.src];
      r = std::max(r, made ? std::min(*made, edge.bytes) : edge.bytes);
    }
    work += out;
    for (const auto& [u, bytes] : read) work += bytes;
    bool takes_time = true;
    for (int d = 0; d < k; ++d) takes_time = takes_time && (!pr.can_run(v, d) || pr.cost_us(v, d) > 0);
    if (takes_time && work - pr.resident_bytes(v) > busiest) busiest = work - pr.resident_bytes(v), busiest_node = v;
    int best = -1;
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(v, d)) continue;
      if (pr.cost_us(v, d) <= 0 || work <= pr.capacity_bytes(d)) {
        best = -1;  // it fits somewhere (or takes no time there, holding nothing)
        break;
      }
      if (best < 0 || pr.capacity_bytes(d) > pr.capacity_bytes(best)) best = d;
    }
    if (best >= 0)
      return "node '" + node.id + "' holds at least " + bytes_text(work) +
             " while it runs (weights, state, inputs, output, workspace); the largest device that can run it, '" +
             pf.devices[best].name + "', has " + bytes_text(pr.capacity_bytes(best));
  }
  if (std::isfinite(have) && need > have)
    return "the graph needs at least " + bytes_text(need) + " of weights and state in all; the platform's " +
           std::to_string(k) + " device(s) have " + bytes_text(have);
  // While the busiest node runs, every weight is resident somewhere and its tensors are held
  // too (on its device, beyond its own weights).
  if (std::isfinite(have) && busiest_node >= 0 && need + busiest > have)
    return "the graph needs at least " + bytes_text(need + busiest) + " in all while node '" +
           g.nodes[busiest_node].id + "' runs (" + bytes_text(need) + " of weights and state, " + bytes_text(busiest) +
           " of its tensors and workspace); the platform's " + std::to_string(k) + " device(s) have " +
           bytes_text(have);
  return {};
}

}  // namespace diviml
