// The throughput objective: pipeline replay, its validator and the period's lower bounds.
#include "diviml/objective/throughput.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "diviml/milp/milp.hpp"
#include "diviml/milp/throughput_milp.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/memory.hpp"
#include "diviml/objective/validate.hpp"

namespace diviml {

namespace {

// The copies' LP's size budget (DenseNet-121 on 9 devices: 35,000 columns and 18,000 rows,
// solved in about 5 s).
constexpr double kMaxCopyLpColumns = 1e5, kMaxCopyLpRows = 1e5;

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

// Host links: nodes that cannot run on the host must move their input over one of the host's
// outgoing links (their sinks' outputs over an incoming one), which work in parallel; those to
// other servers all pass the host's one way out (in), so together they count as one.
double host_link_bound_us(const Problem& pr) {
  const int n = pr.num_nodes(), k = pr.num_devices(), host = pr.platform().host;
  int out_links = 0, in_links = 0;
  bool out_nic = false, in_nic = false;
  for (int d = 0; d < k; ++d) {
    if (d == host) continue;
    const bool nic = pr.platform().crosses_servers(host, d);
    const bool out = std::isfinite(pr.platform().transfer_us(host, d, 0));
    const bool in = std::isfinite(pr.platform().transfer_us(d, host, 0));
    out_links += out && !(nic && out_nic) ? 1 : 0;
    in_links += in && !(nic && in_nic) ? 1 : 0;
    out_nic = out_nic || (nic && out);
    in_nic = in_nic || (nic && in);
  }
  double in = 0, out = 0;
  for (int v = 0; v < n; ++v) {
    if (pr.can_run(v, host)) continue;
    double best_in = kInf, best_out = kInf;
    for (int d = 0; d < k; ++d)
      if (pr.can_run(v, d))
        best_in = std::min(best_in, pr.input_us(v, d)), best_out = std::min(best_out, pr.output_us(v, d));
    if (std::isfinite(best_in)) in += best_in;
    if (std::isfinite(best_out)) out += best_out;
  }
  return std::max(out_links > 0 ? in / out_links : 0.0, in_links > 0 ? out / in_links : 0.0);
}

// The plan's tensor moves and host transfers are the replay's: each once, on its lane, between
// the devices its placements say, at the replayed times (a plan file could claim any).
template <class Differs>
Status same_moves(const Problem& pr, const Plan& plan, const Plan& again, Differs differs) {
  const Graph& g = pr.graph();
  const auto& devs = pr.platform().devices;
  using Key = std::tuple<int, int, int, int>;  // lane, edge (host: node), from, to
  std::map<Key, std::pair<double, double>> want, want_host;
  for (const Transfer& t : again.transfers) want[{t.lane, t.edge, t.from, t.to}] = {t.start_us, t.end_us};
  for (const HostTransfer& t : again.host_transfers)
    want_host[{t.lane, t.node * 2 + (t.to_host ? 1 : 0), t.from, t.to}] = {t.start_us, t.end_us};
  auto where = [&](int lane, int from, int to) {
    auto dev = [&](int d) { return d >= 0 && d < pr.num_devices() ? "'" + devs[d].name + "'" : std::to_string(d); };
    return " of lane " + std::to_string(lane) + " from " + dev(from) + " to " + dev(to);
  };
  std::set<Key> seen;
  for (const Transfer& t : plan.transfers) {
    const std::string what = t.edge >= 0 && t.edge < g.num_edges() ? "transfer " + g.nodes[g.edges[t.edge].src].id +
                                                                         " -> " + g.nodes[g.edges[t.edge].dst].id
                                                                   : "a transfer of an unknown edge";
    const Key key{t.lane, t.edge, t.from, t.to};
    auto it = want.find(key);
    if (it == want.end()) return fail(what + where(t.lane, t.from, t.to) + " is not a move the plan makes");
    if (!seen.insert(key).second) return fail(what + where(t.lane, t.from, t.to) + " is listed twice");
    if (differs(t.start_us, it->second.first) || differs(t.end_us, it->second.second))
      return fail(what + where(t.lane, t.from, t.to) + ": times " + num(t.start_us) + "-" + num(t.end_us) +
                  " us differ from the steady state's " + num(it->second.first) + "-" + num(it->second.second));
  }
  for (const auto& [key, times] : want)
    if (!seen.count(key)) {
      const Edge& e = g.edges[std::get<1>(key)];
      return fail("transfer " + g.nodes[e.src].id + " -> " + g.nodes[e.dst].id +
                  where(std::get<0>(key), std::get<2>(key), std::get<3>(key)) + " is missing");
    }
  seen.clear();
  for (const HostTransfer& t : plan.host_transfers) {
    const std::string what = t.node >= 0 && t.node < pr.num_nodes() ? std::string(t.to_host ? "output" : "input") +
                                                                          " transfer of '" + g.nodes[t.node].id + "'"
                                                                    : "a host transfer of an unknown node";
    const Key key{t.lane, t.node * 2 + (t.to_host ? 1 : 0), t.from, t.to};
    auto it = want_host.find(key);
    if (it == want_host.end()) return fail(what + where(t.lane, t.from, t.to) + " is not a move the plan makes");
    if (!seen.insert(key).second) return fail(what + where(t.lane, t.from, t.to) + " is listed twice");
    if (differs(t.start_us, it->second.first) || differs(t.end_us, it->second.second))
      return fail(what + where(t.lane, t.from, t.to) + ": times " + num(t.start_us) + "-" + num(t.end_us) +
                  " us differ from the steady state's " + num(it->second.first) + "-" + num(it->second.second));
  }
  for (const auto& [key, times] : want_host)
    if (!seen.count(key)) {
      const int node = std::get<1>(key) / 2;
      return fail(std::string(std::get<1>(key) % 2 ? "output" : "input") + " transfer of '" + g.nodes[node].id + "'" +
                  where(std::get<0>(key), std::get<2>(key), std::get<3>(key)) + " is missing");
    }
  return {};
}

}  // namespace

Status steady_memory_fits(const Problem& pr, const Plan& plan) {
  bool limited = false;
  for (int d = 0; d < pr.num_devices(); ++d) limited |= std::isfinite(pr.capacity_bytes(d));
  if (!limited) return {};
  const MemoryProfile mem = memory_profile(pr, plan);
  for (int d = 0; d < pr.num_devices(); ++d)
    if (mem.peak_bytes[d] > pr.capacity_bytes(d) * (1 + 1e-6) + 1e-6)
      return fail("device '" + pr.platform().devices[d].name + "': " + num(mem.peak_bytes[d]) +
                  " bytes held in the steady state at " + num(mem.peak_at_us[d]) +
                  " us of the round (weights and state " + num(mem.resident_bytes[d]) +
                  ", tensors of the inputs in flight " + num(mem.peak_bytes[d] - mem.resident_bytes[d]) +
                  ") exceed memory_bytes " + num(pr.capacity_bytes(d)));
  return {};
}

namespace {

using LoadRows = std::vector<std::vector<std::pair<int, double>>>;

// What the period LPs share: the period column P, a share column per node and device it can
// run on (x[v * k + d], -1 elsewhere) with every node's shares summing to 1, and the load rows
// of each device's compute and of the host's links' transfers (pairs a * k + b), which the LP
// may add to before solve_share_model closes them. nullopt when some node runs nowhere.
struct ShareModel {
  MilpModel m;
  int period = -1;
  std::vector<int> x;
  LoadRows device_load, link_load;
};

std::optional<ShareModel> share_model(const Problem& pr) {
  const int n = pr.num_nodes(), k = pr.num_devices(), host = pr.platform().host;
  ShareModel s;
  s.period = s.m.add_var(0, kInf, 1.0, false, "P");
  s.x.assign(static_cast<size_t>(n) * k, -1);
  s.device_load.resize(k);
  s.link_load.resize(static_cast<size_t>(k) * k);
  for (int v = 0; v < n; ++v) {
    std::vector<std::pair<int, double>> one;
    for (int d = 0; d < k; ++d) {
      const double in = pr.input_us(v, d), out = pr.output_us(v, d);
      if (!pr.can_run(v, d) || !std::isfinite(in) || !std::isfinite(out)) continue;
      const int c = s.x[static_cast<size_t>(v) * k + d] = s.m.add_var(0, 1, 0, false);
      one.push_back({c, 1.0});
      s.device_load[d].push_back({c, pr.cost_us(v, d)});
      if (in > 0) s.link_load[static_cast<size_t>(host) * k + d].push_back({c, in});
      if (out > 0) s.link_load[static_cast<size_t>(d) * k + host].push_back({c, out});
    }
    if (one.empty()) return std::nullopt;
    s.m.add_row(std::move(one), 1, 1);
  }
  return s;
}

// Closes the load rows (copies occupying their ends, the ways between servers, each row at
// most the period) and solves the relaxation: the Lagrangian bound at its row prices (sound at
// any time limit), and the shares when the LP has a solution.
PeriodLp solve_share_model(const Problem& pr, ShareModel& s, double time_limit_s) {
  PeriodLp lp;
  add_copy_occupancy(pr, s.device_load, s.link_load);
  add_nic_loads(pr, s.link_load);
  for (LoadRows* rows : {&s.device_load, &s.link_load})
    for (auto& row : *rows) {
      if (row.empty()) continue;
      row.push_back({s.period, -1.0});
      s.m.add_row(std::move(row), -kInf, 0);
    }
  MilpOptions opt;
  opt.relax = true;
  opt.time_limit_s = time_limit_s;
  auto r = make_cbc_backend()->solve(s.m, opt);
  if (!r || r->row_duals.empty()) return lp;
  lp.bound_us = std::max(0.0, lagrangian_bound(s.m, r->row_duals));
  if (static_cast<int>(r->x.size()) == s.m.num_vars()) {
    lp.share.assign(s.x.size(), 0.0);
    for (size_t i = 0; i < s.x.size(); ++i)
      if (s.x[i] >= 0) lp.share[i] = std::clamp(r->x[s.x[i]], 0.0, 1.0);
  }
  return lp;
}

}  // namespace

double copy_lp_bound_us(const Problem& pr, double time_limit_s) { return period_lp(pr, time_limit_s).bound_us; }

double server_copy_lp_bound_us(const Problem& pr, double time_limit_s) {
  return server_period_lp(pr, time_limit_s).bound_us;
}

PeriodLp server_period_lp(const Problem& pr, double time_limit_s) {
  PeriodLp lp;
  if (time_limit_s <= 0 || !pr.platform().has_shared_server_links()) return lp;
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int n = pr.num_nodes(), k = pr.num_devices();
  // Servers: the classes of "does not cross" (Platform::crosses_servers).
  std::vector<int> server(k, -1);
  int servers = 0;
  for (int d = 0; d < k; ++d) {
    for (int r = 0; r < d && server[d] < 0; ++r)
      if (!pf.crosses_servers(r, d)) server[d] = server[r];
    if (server[d] < 0) server[d] = servers++;
  }
  std::vector<int> size(servers, 0);
  for (int d = 0; d < k; ++d) ++size[server[d]];
  std::vector<std::vector<int>> consumers(n);
  double columns = static_cast<double>(n) * k, rows = 0;
  for (int u = 0; u < n; ++u) {
    consumers[u] = g.consumers(u);
    if (!consumers[u].empty()) columns += static_cast<double>(servers) * (servers - 1);
    rows += 2.0 * servers * consumers[u].size();
  }
  if (columns > kMaxCopyLpColumns || rows > kMaxCopyLpRows) return lp;
  std::optional<ShareModel> built = share_model(pr);
  if (!built) return lp;
  ShareModel& sm = *built;
  MilpModel& m = sm.m;
  const std::vector<int>& x = sm.x;
  // Per server, the ways out and in of all its devices together: at most size x P per round.
  std::vector<std::vector<std::pair<int, double>>> way_out(servers), way_in(servers);
  std::vector<int> mv(static_cast<size_t>(servers) * servers);
  std::vector<double> price(static_cast<size_t>(servers) * servers);
  for (int u = 0; u < n; ++u) {
    if (consumers[u].empty()) continue;
    // mv[s][t]: the share of inputs whose tensor u leaves server s for server t, at its least
    // price between any of their devices (-1: no pair of theirs has a link).
    std::fill(mv.begin(), mv.end(), -1);
    std::fill(price.begin(), price.end(), kInf);
    for (int a = 0; a < k; ++a)
      for (int b = 0; b < k; ++b) {
        if (server[a] == server[b]) continue;
        double& p = price[static_cast<size_t>(server[a]) * servers + server[b]];
        for (int e : g.out_edges(u)) p = std::min(p, pr.comm_us(e, a, b));
      }
    for (int s = 0; s < servers; ++s)
      for (int t = 0; t < servers; ++t) {
        const double p = price[static_cast<size_t>(s) * servers + t];
        if (s == t || !std::isfinite(p)) continue;
        const int c = mv[static_cast<size_t>(s) * servers + t] = m.add_var(0, 1, 0, false);
        if (p > 0) way_out[s].push_back({c, p}), way_in[t].push_back({c, p});
      }
    // Per consumer w and server s: the share of u in s whose w is elsewhere leaves s, the share
    // of w in s whose u is elsewhere arrives in s (a relaxation of the per-device rows).
    for (int w : consumers[u])
      for (int s = 0; s < servers; ++s) {
        std::vector<std::pair<int, double>> out, in;
        for (int d = 0; d < k; ++d) {
          if (server[d] != s) continue;
          if (const int c = x[static_cast<size_t>(u) * k + d]; c >= 0) out.push_back({c, -1.0}), in.push_back({c, 1.0});
          if (const int c = x[static_cast<size_t>(w) * k + d]; c >= 0) out.push_back({c, 1.0}), in.push_back({c, -1.0});
        }
        for (int t = 0; t < servers; ++t) {
          if (t == s) continue;
          if (const int c = mv[static_cast<size_t>(s) * servers + t]; c >= 0) out.push_back({c, 1.0});
          if (const int c = mv[static_cast<size_t>(t) * servers + s]; c >= 0) in.push_back({c, 1.0});
        }
        m.add_row(std::move(out), 0, kInf);
        m.add_row(std::move(in), 0, kInf);
      }
  }
  for (int s = 0; s < servers; ++s)
    for (auto* ways : {&way_out, &way_in}) {
      auto& row = (*ways)[s];
      if (row.empty()) continue;
      row.push_back({sm.period, -static_cast<double>(size[s])});
      m.add_row(std::move(row), -kInf, 0);
    }
  return solve_share_model(pr, sm, time_limit_s);
}

PeriodLp period_lp(const Problem& pr, double time_limit_s, bool copies) {
  PeriodLp lp;
  if (time_limit_s <= 0) return lp;
  const Graph& g = pr.graph();
  const int n = pr.num_nodes(), k = pr.num_devices();
  std::vector<std::vector<int>> consumers(copies ? n : 0);
  if (copies) {
    // Size first: a move column per producer and device pair, two rows per (producer,
    // consumer) pair and device. Beyond the budget the model alone would outlast any limit
    // (64 devices: 4,000 pairs per producer), so the LP is not built.
    double columns = 0, rows = 0;
    for (int u = 0; u < n; ++u) {
      consumers[u] = g.consumers(u);
      if (!consumers[u].empty()) columns += static_cast<double>(k) * (k - 1);
      rows += 2.0 * k * consumers[u].size();
    }
    if (columns > kMaxCopyLpColumns || rows > kMaxCopyLpRows) return lp;
  }
  std::optional<ShareModel> built = share_model(pr);
  if (!built) return lp;  // nowhere to run: the other bounds and the solvers say so
  ShareModel& sm = *built;
  MilpModel& m = sm.m;
  const std::vector<int>& x = sm.x;
  auto at = [&](int v, int d) { return x[static_cast<size_t>(v) * k + d]; };
  std::vector<int> mv(static_cast<size_t>(k) * k);
  for (int u = 0; copies && u < n; ++u) {
    if (consumers[u].empty()) continue;
    // mv[a][b]: the share of inputs whose tensor u moves from a to b (-1: no link).
    std::fill(mv.begin(), mv.end(), -1);
    for (int a = 0; a < k; ++a) {
      if (at(u, a) < 0) continue;
      for (int b = 0; b < k; ++b) {
        if (b == a) continue;
        double price = kInf;
        for (int e : g.out_edges(u)) price = std::min(price, pr.comm_us(e, a, b));
        if (!std::isfinite(price)) {  // no link: u on a excludes every consumer on b
          for (int w : consumers[u])
            if (at(w, b) >= 0) m.add_row({{at(u, a), 1.0}, {at(w, b), 1.0}}, -kInf, 1);
          continue;
        }
        const int c = mv[static_cast<size_t>(a) * k + b] = m.add_var(0, 1, 0, false);
        if (price > 0) sm.link_load[static_cast<size_t>(a) * k + b].push_back({c, price});
      }
    }
    // Per consumer w: the share of u on a whose w is elsewhere leaves a; the share of w on b
    // whose u is elsewhere arrives at b. Per input these are 0 or 1 and at most the moves.
    for (int w : consumers[u])
      for (int a = 0; a < k; ++a) {
        std::vector<std::pair<int, double>> out, in;
        if (at(u, a) >= 0) {
          out.push_back({at(u, a), -1.0});
          if (at(w, a) >= 0) out.push_back({at(w, a), 1.0});
          for (int b = 0; b < k; ++b)
            if (b != a && at(w, b) >= 0 && mv[static_cast<size_t>(a) * k + b] >= 0)
              out.push_back({mv[static_cast<size_t>(a) * k + b], 1.0});
          m.add_row(std::move(out), 0, kInf);
        }
        if (at(w, a) >= 0) {
          in.push_back({at(w, a), -1.0});
          if (at(u, a) >= 0) in.push_back({at(u, a), 1.0});
          for (int b = 0; b < k; ++b)
            if (b != a && at(u, b) >= 0 && mv[static_cast<size_t>(b) * k + a] >= 0)
              in.push_back({mv[static_cast<size_t>(b) * k + a], 1.0});
          m.add_row(std::move(in), 0, kInf);
        }
      }
  }
  return solve_share_model(pr, sm, time_limit_s);
}

namespace {

class ThroughputObjective final : public Objective {
 public:
  std::string name() const override { return "throughput"; }
  Result<Plan> evaluate(const Problem& problem, const Mapping& mapping) const override {
    return pipeline_replay(problem, mapping);
  }
  double value(const Plan& plan) const override { return plan.period_us; }
  Status validate(const Problem& pr, const Plan& plan) const override {
    if (plan.objective != "throughput") return fail("the plan's objective is '" + plan.objective + "', not throughput");
    for (double x : {plan.period_us, plan.latency_us, plan.makespan_us, plan.lower_bound_us})
      if (!std::isfinite(x) || x < 0)
        return fail("period_us, latency_us, makespan_us and lower_bound_us must be finite and >= 0");
    Result<Mapping> m = pipeline_mapping_of(pr, plan);
    if (!m) return m.error();
    if (Status s = check_colocation(pr, plan); !s) return s;
    // Weights stay resident on every device that runs a node in any lane (once per device).
    const int n = pr.num_nodes(), k = pr.num_devices();
    const std::vector<double> mem = resident_bytes(pr, m->device);
    for (int d = 0; d < k; ++d)
      if (mem[d] > pr.capacity_bytes(d))
        return fail("device '" + pr.platform().devices[d].name + "': resident weights " + num(mem[d]) +
                    " bytes exceed memory_bytes " + num(pr.capacity_bytes(d)));
    // The period, latency and the recorded round are what the plan's own decision gives.
    Result<Plan> again = pipeline_replay(pr, *m);
    if (!again) return again.error();
    const double scale = std::max({1.0, again->period_us, again->latency_us});
    auto differs = [&](double a, double b) { return std::abs(a - b) > 1e-6 * scale; };
    if (differs(plan.period_us, again->period_us))
      return fail("period_us " + num(plan.period_us) + " differs from the plan's steady state " +
                  num(again->period_us));
    if (differs(plan.latency_us, again->latency_us) || differs(plan.makespan_us, again->latency_us))
      return fail("latency_us " + num(plan.latency_us) + " differs from the plan's steady state " +
                  num(again->latency_us));
    for (const Placement& p : plan.placements) {
      const Placement& q = again->placements[p.lane * n + p.node];
      if (differs(p.start_us, q.start_us) || differs(p.end_us, q.end_us))
        return fail("node '" + pr.graph().nodes[p.node].id + "' of lane " + std::to_string(p.lane) + ": times " +
                    num(p.start_us) + "-" + num(p.end_us) + " us differ from the steady state's " + num(q.start_us) +
                    "-" + num(q.end_us));
    }
    if (Status s = same_moves(pr, plan, *again, differs); !s) return s;
    // Memory in the steady state: weights and state once per device, the tensors of every input
    // in flight (memory.hpp), swept over the replayed round.
    if (Status s = steady_memory_fits(pr, *again); !s) return s;
    if (plan.lower_bound_us > plan.period_us * (1 + 1e-6) + 1e-9)
      return fail("lower_bound_us " + num(plan.lower_bound_us) + " exceeds period_us " + num(plan.period_us));
    if (plan.status == PlanStatus::kOptimal && !meets_bound(plan.period_us, plan.lower_bound_us))
      return fail("status 'optimal' but period_us " + num(plan.period_us) + " is above lower_bound_us " +
                  num(plan.lower_bound_us));
    return {};
  }
  double quick_bound(const Problem& pr) const override {
    return std::max(ascent_work_bound_us(pr), host_link_bound_us(pr));
  }
  // The steady state is held to memory_bytes: weights and state once per device, the tensors of
  // every input in flight (memory.hpp); solve() repairs a plan that overflows.
  bool memory_over_time() const override { return true; }
  std::vector<double> transient_bytes(const Problem& pr, const Plan& plan) const override {
    const MemoryProfile mem = memory_profile(pr, plan);
    std::vector<double> out(mem.peak_bytes.size());
    for (size_t d = 0; d < out.size(); ++d) out[d] = mem.peak_bytes[d] - mem.resident_bytes[d];
    return out;
  }
  double lower_bound(const Problem& pr, double lp_time_limit_s) const override {
    return period_lower_bound_us(pr, lp_time_limit_s);
  }
};

}  // namespace

std::vector<double> resident_bytes(const Problem& pr, const std::vector<int>& device) {
  const int n = pr.num_nodes();
  std::vector<double> mem(pr.num_devices(), 0.0);
  std::vector<char> held(static_cast<size_t>(pr.num_devices()) * n, 0);
  for (size_t t = 0; t < device.size(); ++t) {
    const int d = device[t], v = static_cast<int>(t % n);
    if (!held[static_cast<size_t>(d) * n + v]) held[static_cast<size_t>(d) * n + v] = 1, mem[d] += pr.resident_bytes(v);
  }
  return mem;
}

double period_lower_bound_us(const Problem& pr, double lp_time_limit_s) {
  // One budget for the LPs: the period LP without copies (device and host-link loads together:
  // milliseconds), then the copies' LP with what the others left. The first is a relaxation of
  // the second and counts where the second is too large to build (GPT-2 small on six-srv: 39.45
  // us against the work bounds' 35.69).
  const auto t0 = std::chrono::steady_clock::now();
  auto left = [&] {
    return lp_time_limit_s - std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  double bound = std::max({ascent_work_bound_us(pr), lp_work_bound_us(pr, lp_time_limit_s), host_link_bound_us(pr)});
  bound = std::max(bound, period_lp(pr, left(), false).bound_us);
  bound = std::max(bound, server_copy_lp_bound_us(pr, left()));
  return std::max(bound, copy_lp_bound_us(pr, left()));
}

const Objective& throughput_objective() {
  static const ThroughputObjective throughput;
  return throughput;
}

}  // namespace diviml
