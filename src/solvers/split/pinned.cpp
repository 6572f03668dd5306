#include "pinned.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "diviml/objective/replay.hpp"
#include "diviml/solvers/bnb.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/milp.hpp"

namespace diviml::split {

namespace {

// A module too large for an exact solve first gets 1/kUnfusedShare of the branch-and-bound
// budget unfused (a proof there is worth having), then the fused problem gets the full budget.
constexpr long kUnfusedShare = 40;

// The notes of a sub-solve that say a CBC child crashed, was killed or was retried: the final
// plan names them (a pinned solve's fallback must not pass in silence).
std::vector<std::string> cbc_trouble(const std::vector<std::string>& notes) {
  std::vector<std::string> out;
  for (const std::string& note : notes)
    if (note.find("crashed") != std::string::npos || note.find("killed") != std::string::npos ||
        note.find("without preprocessing") != std::string::npos)
      out.push_back(note);
  return out;
}

// Whether the nodes after the first `s` (the pinned sources) form a path v_s -> v_s+1 -> ...
// in index order that only sources skip into, with nothing returned to the host before its end.
bool path_shaped(const Problem& sub, int s) {
  const Graph& g = sub.graph();
  const int n = g.num_nodes();
  if (n <= s) return false;
  for (int v = s; v < n; ++v) {
    int inner_in = 0;
    for (int e : g.in_edges(v)) {
      int u = g.edges[e].src;
      if (u < s) continue;
      if (u != v - 1) return false;
      ++inner_in;
    }
    if (v > s && inner_in != 1) return false;
    for (int e : g.out_edges(v))
      if (g.edges[e].dst != v + 1) return false;
    if (v + 1 < n)
      for (int d = 0; d < sub.num_devices(); ++d)
        if (sub.output_us(v, d) > 0) return false;
  }
  return true;
}

// DP over devices along a path-shaped problem (exact: nothing on it can run in parallel).
PinnedSolve path_dp(const Problem& sub, int s) {
  const Graph& g = sub.graph();
  const int n = g.num_nodes(), k = sub.num_devices();
  std::vector<int> src_dev(s, -1);
  for (int u = 0; u < s; ++u)
    for (int d = 0; d < k; ++d)
      if (sub.can_run(u, d)) src_dev[u] = d;
  std::vector<std::vector<double>> fin(n, std::vector<double>(k, kInf));
  std::vector<std::vector<int>> from(n, std::vector<int>(k, -1));
  for (int v = s; v < n; ++v)
    for (int d = 0; d < k; ++d) {
      if (!sub.can_run(v, d)) continue;
      double ready = sub.input_us(v, d), best = v > s ? kInf : 0.0;
      for (int e : g.in_edges(v)) {
        int u = g.edges[e].src;
        if (u < s) {
          ready = std::max(ready, sub.comm_us(e, src_dev[u], d));
          continue;
        }
        for (int d2 = 0; d2 < k; ++d2) {
          double t = fin[u][d2] + sub.comm_us(e, d2, d);
          if (t < best) best = t, from[v][d] = d2;
        }
      }
      fin[v][d] = std::max(ready, best) + sub.cost_us(v, d);
    }
  PinnedSolve r;
  int last = -1;
  for (int d = 0; d < k; ++d) {
    double t = fin[n - 1][d] + sub.output_us(n - 1, d);
    if (t < r.time_us) r.time_us = t, last = d;
  }
  if (!std::isfinite(r.time_us)) return r;
  r.bound_us = r.time_us;
  r.proven = true;
  r.device.assign(n, -1);
  r.order.assign(k, {});
  for (int u = 0; u < s; ++u) r.device[u] = src_dev[u];
  for (int v = n - 1, d = last; v >= s; d = from[v][d], --v) r.device[v] = d;
  for (int v = 0; v < n; ++v) r.order[r.device[v]].push_back(v);
  return r;
}

// A decision on the view, evaluated: its value, and `bound` (clamped to the value).
PinnedSolve evaluated(const Problem& sub, Mapping mapping, double bound, const SolveContext& ctx) {
  PinnedSolve r;
  auto plan = ctx.objective->evaluate(sub, mapping);
  if (!plan) return r;
  r.time_us = ctx.objective->value(*plan);
  r.bound_us = std::min(bound, r.time_us);
  r.proven = meets_bound(r.time_us, bound);
  r.device = std::move(mapping.device);
  r.order = std::move(mapping.order);
  return r;
}

// Branch and bound from the quick solve (when given): proven with the bound at its value when
// the search finished, else the search's root bound; nothing when it found no plan. Below a
// finite `cutoff` only: a finished search that finds no plan below it returns the quick plan,
// its bound raised to the cutoff and marked pruned (the caller's cutoff says no sequence
// through a pair that costs that much can beat the plan it has).
std::optional<PinnedSolve> search(const Problem& sub, const PinnedSolve* quick, double time_limit_s, long budget,
                                  const SolveContext& ctx, double cutoff = kInf, bool bisect = true) {
  Mapping start;
  if (quick && !quick->device.empty()) start = Mapping{quick->device, quick->order};
  BnbResult b = branch_and_bound(sub, start.device.empty() ? nullptr : &start, time_limit_s, budget,
                                 ctx.options.symmetry != 0, cutoff);
  if (!std::isfinite(b.makespan_us)) {
    if (!b.complete || !std::isfinite(cutoff) || !quick || !std::isfinite(quick->time_us)) return std::nullopt;
    PinnedSolve r = *quick;
    r.bound_us = std::max(r.bound_us, std::min(b.bound_us, cutoff) * (1 - 1e-9));
    r.pruned = true;
    return r;
  }
  PinnedSolve r = evaluated(sub, std::move(b.mapping), 0.0, ctx);
  if (!std::isfinite(r.time_us)) return std::nullopt;
  r.proven = b.proven;
  double bound = b.bound_us;
  if (!b.proven && bisect) {
    // Stopped: a search below a target between the bound and the plan prunes far more, and a
    // complete one proves the optimum is at least the target. Bisection on the target with
    // the same budget again, in kBisections passes; a pass that finds a plan keeps it.
    constexpr int kBisections = 4;
    double hi = std::min(r.time_us, cutoff);
    const auto until =
        std::chrono::steady_clock::now() +
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(time_limit_s));
    for (int pass = 0; pass < kBisections && hi > bound * (1 + 1e-6) && !ctx.stopped(); ++pass) {
      const double target = bound + 0.5 * (hi - bound);
      const double left = std::chrono::duration<double>(until - std::chrono::steady_clock::now()).count();
      if (left <= 0) break;
      BnbResult t = branch_and_bound(sub, nullptr, left / (kBisections - pass), budget / kBisections,
                                     ctx.options.symmetry != 0, target);
      if (std::isfinite(t.makespan_us)) {
        PinnedSolve better = evaluated(sub, std::move(t.mapping), 0.0, ctx);
        if (better.time_us < r.time_us) {
          better.trouble = std::move(r.trouble);
          r = std::move(better);
        }
        hi = std::min(hi, r.time_us);
        if (t.proven && t.makespan_us <= target) bound = std::max(bound, t.makespan_us);  // optimal below target
        if (t.proven) break;
      } else if (t.complete) {
        bound = std::max(bound, target);
      } else {
        hi = target;
      }
    }
    r.proven = meets_bound(r.time_us, bound);
  }
  r.bound_us = r.proven ? r.time_us : std::min(r.time_us, bound * (1 - 1e-9));
  return r;
}

// The exact solve of a (possibly fused) view: branch and bound first, which proves small
// pinned problems in milliseconds, then the MILP where it did not finish, keeping the better.
// `fused`: the view is a fused module (a heuristic restriction whose optimum bounds nothing):
// the search gets a fifth of the budget and the MILP, which finds its better plans, the rest of
// the time.
PinnedSolve exact_plan(const Problem& sub, const PinnedSolve* quick, const SolveContext& ctx, double cutoff = kInf,
                       bool fused = false) {
  auto milp = [&](const SolveContext& c) {
    Result<SolverOutput> out = MilpSolver().run(sub, c);
    if (!out) return PinnedSolve{};
    PinnedSolve r =
        evaluated(sub, std::move(out->mapping), std::max(out->bound_us, ctx.objective->quick_bound(sub)), ctx);
    r.trouble = cbc_trouble(out->notes);
    return r;
  };
  const long budget = fused ? ctx.options.module_bnb_expansions / 5 : ctx.options.module_bnb_expansions;
  if (budget <= 0) return milp(ctx);
  // The MILP's share is kept aside; the search gets half of the rest (its bisection, when it
  // does not finish, the other half).
  const double milp_s =
      fused ? 0.5 * ctx.seconds_left() : std::min(ctx.options.module_milp_s, 0.5 * ctx.seconds_left());
  std::optional<PinnedSolve> searched =
      search(sub, quick, std::max(0.0, ctx.seconds_left() - milp_s) / 2, budget, ctx, cutoff, !fused);
  if (searched && (searched->proven || searched->pruned)) return std::move(*searched);
  if (searched && ctx.stopped()) return std::move(*searched);
  if (milp_s <= 0) return searched ? std::move(*searched) : milp(ctx);
  // The MILP starts from the search's plan where it beats the MILP's baselines.
  SolveContext c = fused ? ctx : ctx.within(std::min(ctx.seconds_left(), milp_s));
  if (searched && !searched->device.empty() && !fused)
    c.warm_start = std::make_shared<const Mapping>(Mapping{searched->device, searched->order});
  PinnedSolve exact = milp(c);
  // Keep the better plan, with the MILP's bound, which holds for either.
  if (searched && searched->time_us < exact.time_us) {
    if (std::isfinite(exact.time_us)) searched->bound_us = std::max(searched->bound_us, exact.bound_us);
    searched->proven = meets_bound(searched->time_us, searched->bound_us);
    searched->trouble.insert(searched->trouble.end(), exact.trouble.begin(), exact.trouble.end());
    return std::move(*searched);
  }
  return exact;
}

}  // namespace

std::vector<int> module_nodes(const Module& m) {
  std::vector<int> nodes;
  if (m.entry >= 0) nodes.push_back(m.entry);
  nodes.insert(nodes.end(), m.nodes.begin(), m.nodes.end());
  if (m.exit >= 0) nodes.push_back(m.exit);
  return nodes;
}

// Operator fusion for large modules: every maximal run u -> v -> ... in which each link is the
// only edge out of u and the only edge into v, and v is too cheap to be worth moving, becomes
// one node. The fused problem is a restriction (members share a device and run back to back),
// so its optimum is an upper bound for the module, not a lower one.
Problem fuse_chains(const Problem& sub, const std::vector<char>& is_fixed, std::vector<std::vector<int>>& members) {
  const Graph& g = sub.graph();
  const int n = g.num_nodes(), k = sub.num_devices();
  auto fixed = [&](int v) { return is_fixed[v] != 0; };
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
  std::vector<int> group(n, -1);
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
  return sub.fuse(members);
}

PinnedSolve exact_solve(const Problem& sub, const std::vector<char>& fixed, const SolveContext& ctx,
                        const PinnedSolve* quick, double cutoff) {
  const SolveOptions& o = ctx.options;
  const int free_nodes = sub.num_nodes() - static_cast<int>(std::count(fixed.begin(), fixed.end(), 1));
  if (free_nodes <= o.exact_module_nodes) return exact_plan(sub, quick, ctx, cutoff);
  std::optional<PinnedSolve> unfused;  // the unfused search's plan and bound, when it ran
  if (o.module_bnb_expansions >= kUnfusedShare) {
    // Large, but a short search may still prove it unfused: an exact value and bound for the
    // pair (RegNetY's 14-16-node blocks), where fusing would only give a plan.
    unfused = search(sub, quick, ctx.seconds_left() / 2, o.module_bnb_expansions / kUnfusedShare, ctx, cutoff);
    if (unfused && (unfused->proven || unfused->pruned)) return std::move(*unfused);
  }
  std::vector<std::vector<int>> members;
  Problem fused = fuse_chains(sub, fixed, members);
  PinnedSolve coarse = exact_plan(fused, nullptr, ctx, kInf, true);
  PinnedSolve r;
  if (!std::isfinite(coarse.time_us)) return unfused ? std::move(*unfused) : r;
  Mapping fine;
  fine.device.assign(sub.num_nodes(), -1);
  fine.order.assign(sub.num_devices(), {});
  for (int d = 0; d < sub.num_devices(); ++d)
    for (int c : coarse.order[d])
      for (int v : members[c]) {
        fine.device[v] = d;
        fine.order[d].push_back(v);
      }
  r = evaluated(sub, std::move(fine), 0.0, ctx);  // the fused optimum bounds nothing
  r.trouble = std::move(coarse.trouble);
  r.proven = members.size() == static_cast<size_t>(sub.num_nodes()) && coarse.proven;
  if (unfused && !r.proven) {
    // The unfused search's bound (its root's, or its bisection's) holds for the module; its plan
    // is one of the module's, kept where better.
    if (unfused->time_us < r.time_us) {
      unfused->trouble.insert(unfused->trouble.end(), r.trouble.begin(), r.trouble.end());
      r = std::move(*unfused);
    } else {
      r.bound_us = std::max(r.bound_us, std::min(unfused->bound_us, r.time_us));
      r.proven = meets_bound(r.time_us, r.bound_us);
    }
  }
  return r;
}

PinnedSolve quick_solve(const Problem& sub, int num_sources, const SolveContext& ctx) {
  if (path_shaped(sub, num_sources)) return path_dp(sub, num_sources);
  const double bound = ctx.objective->quick_bound(sub);
  PinnedSolve r;
  Result<SolverOutput> heft = HeftSolver().run(sub, ctx);
  if (!heft) {
    r.bound_us = bound;
    return r;
  }
  r = evaluated(sub, std::move(heft->mapping), bound, ctx);
  // HEFT can lose to running everything that is not pinned on one device (no transfers at
  // all); take that plan where it is better, so pruning compares against it too.
  for (int d = 0; d < sub.num_devices(); ++d) {
    PinnedSolve one = single_device_solve(sub, d, ctx);
    if (one.time_us < r.time_us) {
      r.time_us = one.time_us;
      r.proven = r.time_us <= r.bound_us * (1 + 1e-9);
      r.device = std::move(one.device);
      r.order = std::move(one.order);
    }
  }
  return r;
}

PinnedSolve single_device_solve(const Problem& sub, int d, const SolveContext& ctx) {
  const int n = sub.num_nodes(), k = sub.num_devices();
  PinnedSolve r;
  std::vector<int> dev(n, d);
  for (int v = 0; v < n; ++v) {
    if (sub.can_run(v, d)) continue;
    dev[v] = -1;
    for (int x = 0; x < k; ++x)
      if (sub.can_run(v, x) && (dev[v] < 0 || sub.cost_us(v, x) < sub.cost_us(v, dev[v]))) dev[v] = x;
    if (dev[v] < 0) return r;
  }
  Mapping mp = mapping_from_priority(sub, dev, sub.graph().topo_order());
  auto one = ctx.objective->evaluate(sub, mp);
  if (!one) return r;
  r.time_us = ctx.objective->value(*one);
  r.device = std::move(mp.device);
  r.order = std::move(mp.order);
  return r;
}

}  // namespace diviml::split
