#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <thread>
#include <unordered_map>

#include "diviml/sched/heuristics.hpp"
#include "diviml/sched/lower_bound.hpp"
#include "diviml/sched/replay.hpp"
#include "diviml/sched/split.hpp"

namespace diviml {

std::vector<int> find_split_nodes(const Graph& g) {
  const int n = g.num_nodes();
  const auto& topo = g.topo_order();
  std::vector<int> pos(n);
  for (int t = 0; t < n; ++t) pos[topo[t]] = t;
  // Coverage count of positions jumped over by an edge (difference array), plus the virtual
  // edges from a super-source to every source and from every sink to a super-sink.
  std::vector<int> diff(n + 1, 0);
  int last_source = 0, first_sink = n - 1;
  for (const Edge& e : g.edges) {
    int a = pos[e.src], b = pos[e.dst];
    if (b - a > 1) {
      diff[a + 1] += 1;
      diff[b] -= 1;
    }
  }
  for (int v = 0; v < n; ++v) {
    if (g.is_source(v)) last_source = std::max(last_source, pos[v]);
    if (g.is_sink(v)) first_sink = std::min(first_sink, pos[v]);
  }
  std::vector<int> splits;
  int cover = 0;
  for (int t = 0; t < n; ++t) {
    cover += diff[t];
    if (cover == 0 && t >= last_source && t <= first_sink) splits.push_back(topo[t]);
  }
  return splits;
}

namespace {

bool is_chain(const Graph& g, const Module& m) {
  std::unordered_map<int, int> local;  // node -> position in m.nodes
  for (size_t i = 0; i < m.nodes.size(); ++i) local[m.nodes[i]] = static_cast<int>(i);
  const int k = static_cast<int>(m.nodes.size());
  for (int i = 0; i < k; ++i) {
    int v = m.nodes[i];
    for (int e : g.out_edges(v)) {
      int w = g.edges[e].dst;
      bool ok = (i + 1 < k && w == m.nodes[i + 1]) || (i + 1 == k && w == m.exit && m.exit >= 0);
      if (!ok) return false;
    }
    if (i + 1 == k && m.exit < 0 && !g.is_sink(v)) return false;
    for (int e : g.in_edges(v)) {
      int u = g.edges[e].src;
      bool ok = (i > 0 && u == m.nodes[i - 1]) || (u == m.entry && m.entry >= 0);
      if (!ok) return false;
    }
    if (i > 0 && g.in_edges(v).empty()) return false;
  }
  if (m.exit >= 0)
    for (int e : g.in_edges(m.exit)) {
      int u = g.edges[e].src;
      if (!(u == m.entry || (k > 0 && u == m.nodes[k - 1]))) return false;
    }
  return true;
}

// Modules cut at the given split nodes (in topological order).
std::vector<Module> decompose_at(const Graph& g, const std::vector<int>& splits, int size_cap) {
  const int n = g.num_nodes();
  const auto& topo = g.topo_order();
  std::vector<int> pos(n);
  for (int t = 0; t < n; ++t) pos[topo[t]] = t;
  std::vector<Module> pieces;
  int prev = -1, from = 0;
  for (int s : splits) {
    Module m;
    m.entry = prev;
    m.exit = s;
    for (int t = from; t < pos[s]; ++t) m.nodes.push_back(topo[t]);
    pieces.push_back(std::move(m));
    prev = s;
    from = pos[s] + 1;
  }
  Module last;
  last.entry = prev;
  for (int t = from; t < n; ++t) last.nodes.push_back(topo[t]);
  if (!last.nodes.empty() || splits.empty()) pieces.push_back(std::move(last));
  // A graph ending in a split node (its only sink) needs a last piece for the return to the
  // host only when the sink has output bytes; the exit of the last piece carries it otherwise.
  std::vector<Module> out;
  for (Module& p : pieces) {
    if (!out.empty()) {
      Module& cur = out.back();
      if (static_cast<int>(cur.nodes.size() + 1 + p.nodes.size()) <= size_cap) {
        cur.nodes.push_back(cur.exit);
        cur.nodes.insert(cur.nodes.end(), p.nodes.begin(), p.nodes.end());
        cur.exit = p.exit;
        continue;
      }
    }
    out.push_back(std::move(p));
  }
  for (Module& m : out) m.chain = is_chain(g, m);
  return out;
}

}  // namespace

std::vector<Module> decompose(const Graph& g, int size_cap) { return decompose_at(g, find_split_nodes(g), size_cap); }

Problem module_problem(const Problem& pr, const Module& m, int entry_device, int exit_device) {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int k = pr.num_devices();
  Graph sg;
  sg.name = g.name + ".module";
  auto copy_node = [&](int v, int only_device) {
    Node c;
    c.id = g.nodes[v].id;
    c.op = g.nodes[v].op;
    for (int d = 0; d < k; ++d) {
      bool allowed = only_device < 0 || d == only_device;
      double cost = pr.cost_us(v, d);
      c.cost_us[pf.devices[d].name] =
          allowed && std::isfinite(cost) ? std::optional<double>(cost) : std::optional<double>();
    }
    c.input_bytes = g.nodes[v].input_bytes;
    c.output_bytes = g.is_sink(v) ? g.nodes[v].output_bytes.value_or(0.0) : 0.0;
    return c;
  };
  std::unordered_map<int, int> local;
  if (m.entry >= 0) {
    Node c;
    c.id = g.nodes[m.entry].id;
    c.op = g.nodes[m.entry].op;
    for (int d = 0; d < k; ++d)
      c.cost_us[pf.devices[d].name] = d == entry_device ? std::optional<double>(0.0) : std::optional<double>();
    c.output_bytes = 0.0;
    local[m.entry] = sg.add_node(std::move(c));
  }
  for (int v : m.nodes) local[v] = sg.add_node(copy_node(v, -1));
  if (m.exit >= 0) local[m.exit] = sg.add_node(copy_node(m.exit, exit_device));
  for (const Edge& e : g.edges) {
    auto a = local.find(e.src), b = local.find(e.dst);
    if (a != local.end() && b != local.end()) sg.edges.push_back(Edge{a->second, b->second, e.bytes});
  }
  (void)sg.finalize();
  auto sub = Problem::build(std::move(sg), pf);
  return std::move(*sub);  // costs are all explicit and finite or null: build cannot fail
}

namespace {

// One pinned-boundary solve of a module: its time from the end of the entry to the end of the
// exit (or of the graph), a bound, and its schedule in module-local node indices (the module
// problem's numbering, entry first when present).
struct PinnedSolve {
  double time_us = kInf;
  double bound_us = kInf;
  bool proven = false;
  bool pruned = false;  // cannot lie on an optimal sequence (bounds), so it needs no proof
  std::vector<int> device;              // per local node
  std::vector<std::vector<int>> order;  // per device, local nodes
};

// DP over devices for a chain module (exact: nothing in it can run in parallel).
PinnedSolve chain_dp(const Problem& pr, const Module& m, int a, int b) {
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  const int inside = static_cast<int>(m.nodes.size());
  // Arrival lower bound on device d from the entry's edges into node v (entry done at 0 on a).
  auto from_entry = [&](int v, int d) {
    double t = 0;
    if (m.entry < 0) return t;
    for (int e : g.in_edges(v))
      if (g.edges[e].src == m.entry) t = std::max(t, pr.comm_us(e, a, d));
    return t;
  };
  auto edge_delay = [&](int u, int v, int du, int dv) {
    double t = 0;
    for (int e : g.out_edges(u))
      if (g.edges[e].dst == v) t = std::max(t, pr.comm_us(e, du, dv));
    return t;
  };
  std::vector<std::vector<double>> fin(inside, std::vector<double>(k, kInf));
  std::vector<std::vector<int>> from(inside, std::vector<int>(k, -1));
  for (int i = 0; i < inside; ++i) {
    int v = m.nodes[i];
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(v, d)) continue;
      double ready = std::max(from_entry(v, d), pr.input_us(v, d));
      if (i > 0) {
        double best = kInf;
        for (int d2 = 0; d2 < k; ++d2) {
          double t = fin[i - 1][d2] + edge_delay(m.nodes[i - 1], v, d2, d);
          if (t < best) best = t, from[i][d] = d2;
        }
        ready = std::max(ready, best);
      }
      fin[i][d] = ready + pr.cost_us(v, d);
    }
  }
  PinnedSolve r;
  int last_dev = -1;
  if (m.exit >= 0) {
    if (!pr.can_run(m.exit, b)) return r;
    double ready = std::max(from_entry(m.exit, b), pr.input_us(m.exit, b));
    if (inside > 0) {
      double best = kInf;
      for (int d2 = 0; d2 < k; ++d2) {
        double t = fin[inside - 1][d2] + edge_delay(m.nodes[inside - 1], m.exit, d2, b);
        if (t < best) best = t, last_dev = d2;
      }
      ready = std::max(ready, best);
    }
    r.time_us = ready + pr.cost_us(m.exit, b) + pr.output_us(m.exit, b);
  } else {
    for (int d = 0; d < k; ++d) {
      double t = fin[inside - 1][d] + pr.output_us(m.nodes[inside - 1], d);
      if (t < r.time_us) r.time_us = t, last_dev = d;
    }
  }
  if (!std::isfinite(r.time_us)) return r;
  r.bound_us = r.time_us;
  r.proven = true;
  const int offset = m.entry >= 0 ? 1 : 0;
  const int total = offset + inside + (m.exit >= 0 ? 1 : 0);
  r.device.assign(total, -1);
  r.order.assign(k, {});
  if (m.entry >= 0) r.device[0] = a;
  for (int i = inside - 1, d = last_dev; i >= 0; d = from[i][d], --i) r.device[offset + i] = d;
  if (m.exit >= 0) r.device[total - 1] = b;
  for (int l = 0; l < total; ++l) r.order[r.device[l]].push_back(l);
  return r;
}

// Operator fusion for large modules: every maximal run u -> v -> ... in which each link is the
// only edge out of u and the only edge into v, and v is too cheap to be worth moving, becomes
// one node (costs summed per device; a
// device that cannot run one of them cannot run the fused node). The boundary nodes are never
// fused. `group` receives, per node of `sub`, its fused node; fused nodes list their members in
// order. The fused problem is a restriction (members share a device and run back to back), so
// its optimum is an upper bound for the module, not a lower one.
Problem fuse_chains(const Problem& sub, bool has_entry, bool has_exit, std::vector<int>& group,
                    std::vector<std::vector<int>>& members) {
  const Graph& g = sub.graph();
  const int n = g.num_nodes(), k = sub.num_devices();
  auto fixed = [&](int v) { return (has_entry && v == 0) || (has_exit && v == n - 1); };
  // Fuse v into u only where running v elsewhere cannot pay for moving its input there: the
  // most v could gain on another device is below the cheapest transfer of u's output. That keeps
  // BN/ReLU with their convolution and leaves conv -> conv links as decisions.
  auto links_to_next = [&](int u) {
    if (fixed(u) || g.out_edges(u).size() != 1) return -1;
    int e = g.out_edges(u)[0];
    int v = g.edges[e].dst;
    if (fixed(v) || g.in_edges(v).size() != 1) return -1;
    double lo = kInf, hi = 0, move = kInf;
    for (int d = 0; d < k; ++d) {
      if (!sub.can_run(v, d)) continue;
      lo = std::min(lo, sub.cost_us(v, d));
      hi = std::max(hi, sub.cost_us(v, d));
      for (int d2 = 0; d2 < k; ++d2)
        if (d2 != d) move = std::min(move, sub.comm_us(e, d2, d));
    }
    return hi - lo < move ? v : -1;
  };
  group.assign(n, -1);
  members.clear();
  for (int v : g.topo_order()) {
    if (group[v] >= 0) continue;
    members.push_back({v});
    group[v] = static_cast<int>(members.size()) - 1;
    for (int u = v, w; (w = links_to_next(u)) >= 0; u = w) {
      group[w] = group[v];
      members.back().push_back(w);
    }
  }
  Graph fg;
  fg.name = g.name + ".fused";
  const Platform& pf = sub.platform();
  for (const auto& mem : members) {
    Node c;
    c.id = g.nodes[mem.front()].id;
    c.op = g.nodes[mem.front()].op;
    for (int d = 0; d < k; ++d) {
      double t = 0;
      for (int v : mem) t += sub.cost_us(v, d);
      c.cost_us[pf.devices[d].name] = std::isfinite(t) ? std::optional<double>(t) : std::optional<double>();
    }
    c.input_bytes = g.nodes[mem.front()].input_bytes;
    c.output_bytes = g.is_sink(mem.back()) ? g.nodes[mem.back()].output_bytes.value_or(0.0) : 0.0;
    fg.add_node(std::move(c));
  }
  for (const Edge& e : g.edges)
    if (group[e.src] != group[e.dst]) fg.edges.push_back(Edge{group[e.src], group[e.dst], e.bytes});
  (void)fg.finalize();
  auto fused = Problem::build(std::move(fg), pf);
  return std::move(*fused);
}

// Modules with more nodes inside than this are fused before the MILP: CBC proves ~12-node
// pinned modules in well under a second, 20-node ones (an Inception module) often not in 10 s.
constexpr int kExactModuleNodes = 12;
constexpr double kFusedSlack = 0.05;

PinnedSolve from_plan(const Plan& plan, int num_devices) {
  PinnedSolve r;
  r.time_us = plan.makespan_us;
  r.bound_us = plan.lower_bound_us;
  r.proven = plan.status == PlanStatus::kOptimal;
  Mapping mp = plan.mapping(num_devices);
  r.device = std::move(mp.device);
  r.order = std::move(mp.order);
  return r;
}

// The exact pinned solve (fused first when the module is large). Its bound is 0 when fused:
// the caller keeps the quick solve's static bound of the unfused module.
PinnedSolve milp_solve(const Problem& pr, const Module& m, int a, int b, const SolveOptions& opt) {
  PinnedSolve r;
  if (m.exit >= 0 && !pr.can_run(m.exit, b)) return r;
  Problem sub = module_problem(pr, m, a, b);
  if (static_cast<int>(m.nodes.size()) <= kExactModuleNodes) {
    auto plan = solve("milp", sub, opt);
    return plan ? from_plan(*plan, sub.num_devices()) : r;
  }
  std::vector<int> group;
  std::vector<std::vector<int>> members;
  Problem fused = fuse_chains(sub, m.entry >= 0, m.exit >= 0, group, members);
  auto plan = solve("milp", fused, opt);
  if (!plan) return r;
  Mapping coarse = plan->mapping(fused.num_devices());
  Mapping fine;
  fine.device.assign(sub.num_nodes(), -1);
  fine.order.assign(sub.num_devices(), {});
  for (int d = 0; d < sub.num_devices(); ++d)
    for (int c : coarse.order[d])
      for (int v : members[c]) {
        fine.device[v] = d;
        fine.order[d].push_back(v);
      }
  auto replayed = replay(sub, fine);
  if (!replayed) return r;
  r.time_us = replayed->makespan_us;
  r.bound_us = 0;  // the fused optimum bounds nothing
  r.proven = members.size() == static_cast<size_t>(sub.num_nodes()) && plan->status == PlanStatus::kOptimal;
  r.device = std::move(fine.device);
  r.order = std::move(fine.order);
  return r;
}

// A quick pinned solve: HEFT on the module problem, with that problem's static lower bound.
PinnedSolve heft_solve(const Problem& pr, const Module& m, int a, int b) {
  PinnedSolve r;
  if (m.exit >= 0 && !pr.can_run(m.exit, b)) return r;
  Problem sub = module_problem(pr, m, a, b);
  auto plan = solve("heft", sub, {});
  if (!plan) {
    r.bound_us = lower_bound_us(sub);
    return r;
  }
  return from_plan(*plan, sub.num_devices());
}

// Identical modules (same costs, transfers and boundaries, node for node) share their solves.
std::string module_key(const Problem& pr, const Module& m) {
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  std::string key;
  auto put = [&](double x) { key.append(reinterpret_cast<const char*>(&x), sizeof x); };
  std::vector<int> nodes;
  if (m.entry >= 0) nodes.push_back(m.entry);
  nodes.insert(nodes.end(), m.nodes.begin(), m.nodes.end());
  if (m.exit >= 0) nodes.push_back(m.exit);
  std::unordered_map<int, int> local;
  for (size_t i = 0; i < nodes.size(); ++i) local[nodes[i]] = static_cast<int>(i);
  put(m.entry >= 0 ? 1 : 0);
  put(m.exit >= 0 ? 1 : 0);
  put(static_cast<double>(nodes.size()));
  for (size_t i = 0; i < nodes.size(); ++i) {
    int v = nodes[i];
    bool is_entry = m.entry >= 0 && i == 0;
    for (int d = 0; d < k; ++d) {
      put(is_entry ? 0.0 : pr.cost_us(v, d));
      put(is_entry ? 0.0 : pr.input_us(v, d));
      put(g.is_sink(v) ? pr.output_us(v, d) : 0.0);
    }
    for (int e : g.out_edges(v)) {
      auto w = local.find(g.edges[e].dst);
      if (w == local.end()) continue;
      put(static_cast<double>(i));
      put(static_cast<double>(w->second));
      for (int x = 0; x < k; ++x)
        for (int y = 0; y < k; ++y) put(pr.comm_us(e, x, y));
    }
  }
  return key;
}

}  // namespace

Result<SolverOutput> SplitSolver::run(const Problem& pr, const SolveOptions& opt) const {
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  const std::vector<int> splits = find_split_nodes(g);
  std::vector<Module> modules = decompose_at(g, splits, std::max(1, opt.module_size));
  const int q_count = static_cast<int>(modules.size());
  // Distinct modules and the pinned solves each needs.
  std::vector<int> group(q_count);
  std::unordered_map<std::string, int> group_of;
  std::vector<int> representative;
  for (int q = 0; q < q_count; ++q) {
    auto [it, fresh] = group_of.emplace(module_key(pr, modules[q]), static_cast<int>(representative.size()));
    if (fresh) representative.push_back(q);
    group[q] = it->second;
  }
  const int groups = static_cast<int>(representative.size());
  auto rows = [&](const Module& m) { return m.entry >= 0 ? k : 1; };
  auto cols = [&](const Module& m) { return m.exit >= 0 ? k : 1; };
  std::vector<std::vector<PinnedSolve>> table(groups);
  struct Task {
    int group, a, b;
  };
  std::vector<Task> milp_tasks;
  for (int gi = 0; gi < groups; ++gi) {
    const Module& m = modules[representative[gi]];
    table[gi].resize(static_cast<size_t>(rows(m)) * cols(m));
    for (int a = 0; a < rows(m); ++a)
      for (int b = 0; b < cols(m); ++b) {
        int ea = m.entry >= 0 ? a : -1, eb = m.exit >= 0 ? b : -1;
        if (ea >= 0 && !pr.can_run(m.entry, ea)) continue;
        table[gi][a * cols(m) + b] = m.chain ? chain_dp(pr, m, ea, eb) : heft_solve(pr, m, ea, eb);
      }
  }
  // Prune before the MILPs: a pair (a, b) of module q can lie on an optimal sequence only if
  // the best bound to reach a, plus its own bound, plus the best bound from b to the end, does
  // not exceed the best plan the quick solves already give. The others keep their quick plan
  // (and bound); the optimum runs through solved pairs only, so exactness is kept.
  // Min-plus sweeps over the module sequence for one value of the pinned solves:
  // into[q][a] = best sum to enter module q on a, out[q][a] = best sum from there to the end.
  auto sweep = [&](double PinnedSolve::*value) {
    std::vector<std::vector<double>> into(q_count + 1), out(q_count + 1);
    into[0].assign(1, 0.0);
    for (int q = 0; q < q_count; ++q) {
      const Module& m = modules[q];
      into[q + 1].assign(cols(m), kInf);
      for (int a = 0; a < rows(m); ++a)
        for (int b = 0; b < cols(m); ++b)
          into[q + 1][b] = std::min(into[q + 1][b], into[q][a] + table[group[q]][a * cols(m) + b].*value);
    }
    out[q_count].assign(cols(modules[q_count - 1]), 0.0);
    for (int q = q_count - 1; q >= 0; --q) {
      const Module& m = modules[q];
      out[q].assign(rows(m), kInf);
      for (int a = 0; a < rows(m); ++a)
        for (int b = 0; b < cols(m); ++b)
          out[q][a] = std::min(out[q][a], table[group[q]][a * cols(m) + b].*value + out[q + 1][b]);
    }
    return std::make_pair(std::move(into), std::move(out));
  };
  auto [reach, rest] = sweep(&PinnedSolve::bound_us);
  // Fused modules are heuristic anyway (their plans prove nothing), so they also skip pairs
  // whose best quick sequence is more than kFusedSlack above the best quick plan: the exact
  // solves go where they can change the answer.
  auto [reach_t, rest_t] = sweep(&PinnedSolve::time_us);
  const double quick_best = *std::min_element(reach_t[q_count].begin(), reach_t[q_count].end());
  std::vector<std::vector<char>> needed(groups);
  for (int gi = 0; gi < groups; ++gi) needed[gi].assign(table[gi].size(), 0);
  int pruned = 0;
  for (int q = 0; q < q_count; ++q) {
    const Module& m = modules[q];
    if (m.chain) continue;
    const bool fused = static_cast<int>(m.nodes.size()) > kExactModuleNodes;
    for (int a = 0; a < rows(m); ++a)
      for (int b = 0; b < cols(m); ++b) {
        const PinnedSolve& s = table[group[q]][a * cols(m) + b];
        if (!std::isfinite(s.bound_us) || s.proven) continue;
        bool may_be_optimal = reach[q][a] + s.bound_us + rest[q + 1][b] <= quick_best * (1 + 1e-9);
        bool promising = reach_t[q][a] + s.time_us + rest_t[q + 1][b] <= quick_best * (1 + kFusedSlack);
        if (may_be_optimal && (!fused || promising)) needed[group[q]][a * cols(m) + b] = 1;
      }
  }
  for (int gi = 0; gi < groups; ++gi) {
    const Module& m = modules[representative[gi]];
    for (int a = 0; a < rows(m); ++a)
      for (int b = 0; b < cols(m); ++b) {
        if (needed[gi][a * cols(m) + b]) {
          milp_tasks.push_back({gi, m.entry >= 0 ? a : -1, m.exit >= 0 ? b : -1});
        } else if (!m.chain && std::isfinite(table[gi][a * cols(m) + b].bound_us) &&
                   !table[gi][a * cols(m) + b].proven) {
          // Marked pruned (no proof needed) only where bounds exclude it; a fused module is
          // never proven, so its heuristic skips cannot make a proof either.
          table[gi][a * cols(m) + b].pruned = static_cast<int>(m.nodes.size()) <= kExactModuleNodes;
          ++pruned;
        }
      }
  }
  // MILP solves in parallel; each gets an even share of what is left of the time limit.
  std::atomic<size_t> next{0};
  const int workers = std::max(1, std::min<int>(opt.threads, static_cast<int>(milp_tasks.size())));
  auto work = [&] {
    for (size_t t; (t = next.fetch_add(1)) < milp_tasks.size();) {
      const Task& task = milp_tasks[t];
      const Module& m = modules[representative[task.group]];
      SolveOptions sub = opt;
      sub.threads = 1;
      double left = std::max(0.0, opt.time_limit_s - elapsed());
      double share = left * workers / static_cast<double>(milp_tasks.size() - t);
      sub.time_limit_s = std::clamp(share, 0.05, std::max(0.05, left));
      sub.time_limit_s = std::min(sub.time_limit_s, opt.module_time_limit_s);
      int a = std::max(task.a, 0), b = std::max(task.b, 0);
      PinnedSolve& cell = table[task.group][a * cols(m) + b];
      PinnedSolve exact = milp_solve(pr, m, task.a, task.b, sub);
      // The MILP starts from the module's HEFT plan, so it is never worse; bounds combine.
      if (exact.time_us <= cell.time_us) {
        exact.bound_us = std::max(exact.bound_us, cell.bound_us);
        cell = std::move(exact);
      } else {
        cell.bound_us = std::max(cell.bound_us, exact.bound_us);
      }
    }
  };
  if (workers == 1) {
    work();
  } else {
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work);
    for (auto& th : pool) th.join();
  }
  // DP over modules on times (and, alongside, on bounds).
  std::vector<double> f(1, 0.0), fb(1, 0.0);
  std::vector<std::vector<int>> choice(q_count);
  for (int q = 0; q < q_count; ++q) {
    const Module& m = modules[q];
    const auto& tab = table[group[q]];
    std::vector<double> nf(cols(m), kInf), nfb(cols(m), kInf);
    choice[q].assign(cols(m), -1);
    for (int b = 0; b < cols(m); ++b)
      for (int a = 0; a < rows(m); ++a) {
        const PinnedSolve& s = tab[a * cols(m) + b];
        if (f[a] + s.time_us < nf[b]) nf[b] = f[a] + s.time_us, choice[q][b] = a;
        nfb[b] = std::min(nfb[b], fb[a] + s.bound_us);
      }
    f = std::move(nf);
    fb = std::move(nfb);
  }
  // The last module ends at the graph's end, or at its only sink (then on any device).
  const int last = static_cast<int>(std::min_element(f.begin(), f.end()) - f.begin());
  const double best_us = f[last], best_bound = *std::min_element(fb.begin(), fb.end());
  if (!std::isfinite(best_us))
    return fail("split: no sequence of boundary devices gives a plan (a module cannot be placed)");
  // Stitch: walk back the choices, then lay each module's schedule out in module order.
  std::vector<int> boundary(q_count + 1, 0);  // boundary[q] = device of module q's entry row
  for (int q = q_count - 1, b = last; q >= 0; --q) {
    boundary[q + 1] = b;
    b = choice[q][b];
    boundary[q] = b;
  }
  SolverOutput out;
  out.mapping.device.assign(g.num_nodes(), -1);
  out.mapping.order.assign(k, {});
  bool proven = true;
  int chains = 0;
  for (int q = 0; q < q_count; ++q) {
    const Module& m = modules[q];
    const PinnedSolve& s = table[group[q]][boundary[q] * cols(m) + boundary[q + 1]];
    std::vector<int> nodes;
    if (m.entry >= 0) nodes.push_back(m.entry);
    nodes.insert(nodes.end(), m.nodes.begin(), m.nodes.end());
    if (m.exit >= 0) nodes.push_back(m.exit);
    for (int d = 0; d < k; ++d)
      for (int l : s.order[d]) {
        if (m.entry >= 0 && l == 0) continue;  // placed by the previous module
        out.mapping.device[nodes[l]] = d;
        out.mapping.order[d].push_back(nodes[l]);
      }
    ModuleSummary sum;
    sum.entry = m.entry;
    sum.exit = m.exit;
    sum.size = static_cast<int>(m.nodes.size());
    sum.chain = m.chain;
    sum.proven = true;
    for (const PinnedSolve& x : table[group[q]])
      sum.proven = sum.proven && (x.proven || x.pruned || !std::isfinite(x.time_us));
    proven = proven && sum.proven;
    chains += m.chain ? 1 : 0;
    out.modules.push_back(sum);
  }
  // Memory couples the modules; the DP ignores it, so check the stitched plan.
  std::vector<double> mem(k, 0.0);
  for (int v = 0; v < g.num_nodes(); ++v) mem[out.mapping.device[v]] += pr.param_bytes(v);
  bool fits = true;
  for (int d = 0; d < k; ++d) fits = fits && mem[d] <= pr.capacity_bytes(d);
  out.notes.push_back("split: " + std::to_string(splits.size()) + " split nodes, " +
                      std::to_string(q_count) + " modules (" + std::to_string(chains) + " chains by DP), " +
                      std::to_string(groups) + " distinct, " + std::to_string(milp_tasks.size()) +
                      " pinned MILP solves on " + std::to_string(workers) + " thread(s) (" + std::to_string(pruned) +
                      " pruned by bounds), DP " +
                      std::to_string(best_us) + " us");
  if (!fits) {
    std::optional<SolverOutput> best;
    double best_us = kInf;
    for (const char* name : {"heft", "fastest"}) {
      auto o = make_solver(name)->run(pr, opt);
      if (!o) continue;
      auto p = replay(pr, o->mapping);
      if (p && p->makespan_us < best_us) best_us = p->makespan_us, best = std::move(*o);
    }
    if (!best) return fail("split: the stitched plan overflows a device's memory and no baseline fits either");
    best->notes.insert(best->notes.begin(), "split: the stitched plan overflows a device's memory_bytes "
                                            "(modules are solved without the global capacity); kept the best baseline");
    best->modules = std::move(out.modules);
    return std::move(*best);
  }
  out.status = proven ? PlanStatus::kOptimal : PlanStatus::kFeasible;
  if (std::isfinite(best_bound)) out.bound_us = best_bound * (1 - 1e-9);
  return out;
}

}  // namespace diviml
