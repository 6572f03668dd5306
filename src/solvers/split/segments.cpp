#include "segments.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace diviml::split {

namespace {

double power(int k, size_t e) { return std::pow(static_cast<double>(k), static_cast<double>(e)); }

int digit(int index, int place, int k) {
  for (int i = 0; i < place; ++i) index /= k;
  return index % k;
}

}  // namespace

std::vector<SegmentPlan> segment_plans(const Problem& pr, const Module& m) {
  const Graph& g = pr.graph();
  const int k = pr.num_devices();
  const size_t r = m.segments.size();
  std::vector<SegmentPlan> plans(r);
  for (size_t s = 0; s < r; ++s) {
    SegmentPlan& sp = plans[s];
    sp.nodes = m.segments[s];
    if (s + 1 == r && m.exit >= 0) sp.nodes.push_back(m.exit);
    if (s == 0) {
      if (m.entry >= 0) sp.before = {m.entry};
    } else {
      sp.before = m.channels[s - 1];
    }
    if (s + 1 == r) {
      if (m.exit >= 0) sp.after = {m.exit};
    } else {
      sp.after = m.channels[s];
    }
    for (int c : sp.before) {
      bool read = false;
      for (int e : g.out_edges(c))
        read = read || std::find(sp.nodes.begin(), sp.nodes.end(), g.edges[e].dst) != sp.nodes.end();
      if (read) sp.reads.push_back(c);
    }
    for (int c : sp.after)
      if (std::find(sp.nodes.begin(), sp.nodes.end(), c) != sp.nodes.end()) sp.writes.push_back(c);
    const int combos = static_cast<int>(power(k, sp.reads.size() + sp.writes.size()));
    sp.solves.assign(combos, PinnedSolve{});
    sp.exact.assign(combos, 0);
  }
  return plans;
}

// The pinned problem of one device combination of a segment, or nothing when a written node
// cannot run on its device.
std::optional<Problem> segment_problem(const Problem& pr, const SegmentPlan& sp, int combo, std::vector<char>* fixed) {
  const int k = pr.num_devices();
  std::vector<std::pair<int, int>> sources, pins;
  const int nr = static_cast<int>(sp.reads.size());
  for (int i = 0; i < nr; ++i) sources.emplace_back(sp.reads[i], digit(combo, i, k));
  for (size_t j = 0; j < sp.writes.size(); ++j) {
    int d = digit(combo, nr + static_cast<int>(j), k);
    if (!pr.can_run(sp.writes[j], d)) return std::nullopt;
    pins.emplace_back(sp.writes[j], d);
  }
  Problem sub = pr.restrict(Restriction{sources, sp.nodes, pins});
  if (fixed) {
    fixed->assign(sub.num_nodes(), 0);
    for (int i = 0; i < nr; ++i) (*fixed)[i] = 1;
    for (size_t i = 0; i < sp.nodes.size(); ++i)
      if (std::find(sp.writes.begin(), sp.writes.end(), sp.nodes[i]) != sp.writes.end()) (*fixed)[nr + i] = 1;
  }
  return sub;
}

namespace {

// Every transition of a segment: state before (devices of `before`), the solve combination it
// uses, and the state after (written channels from the combination, the others passed on).
template <class F>
void transitions(const SegmentPlan& sp, int k, F&& visit) {
  const int nr = static_cast<int>(sp.reads.size()), nw = static_cast<int>(sp.writes.size());
  std::vector<int> read_at(nr), after_from(sp.after.size()), after_write(sp.after.size(), -1);
  for (int i = 0; i < nr; ++i)
    read_at[i] = static_cast<int>(std::find(sp.before.begin(), sp.before.end(), sp.reads[i]) - sp.before.begin());
  for (size_t c = 0; c < sp.after.size(); ++c) {
    auto w = std::find(sp.writes.begin(), sp.writes.end(), sp.after[c]);
    if (w != sp.writes.end()) after_write[c] = static_cast<int>(w - sp.writes.begin());
    after_from[c] = static_cast<int>(std::find(sp.before.begin(), sp.before.end(), sp.after[c]) - sp.before.begin());
  }
  const int states = static_cast<int>(power(k, sp.before.size()));
  const int read_combos = static_cast<int>(power(k, nr)), write_combos = static_cast<int>(power(k, nw));
  for (int st = 0; st < states; ++st) {
    int rin = 0;
    for (int i = nr - 1; i >= 0; --i) rin = rin * k + digit(st, read_at[i], k);
    for (int w = 0; w < write_combos; ++w) {
      int next = 0;
      for (int c = static_cast<int>(sp.after.size()) - 1; c >= 0; --c)
        next = next * k + (after_write[c] >= 0 ? digit(w, after_write[c], k) : digit(st, after_from[c], k));
      visit(st, rin + read_combos * w, next);
    }
  }
}

}  // namespace

Layers segment_layers(const std::vector<SegmentPlan>& plans, int k) {
  Layers layers;
  layers.width.push_back(static_cast<int>(power(k, plans.front().before.size())));
  for (const SegmentPlan& sp : plans) {
    layers.width.push_back(static_cast<int>(power(k, sp.after.size())));
    layers.arcs.emplace_back();
    transitions(sp, k, [&](int st, int combo, int next) { layers.arcs.back().push_back(Arc{st, next, combo}); });
  }
  return layers;
}

void mark_segment_solves(const Module& m, std::vector<SegmentPlan>& plans, int k, const std::vector<double>& reach_lb,
                         const std::vector<double>& rest_lb, const std::vector<double>& reach_t,
                         const std::vector<double>& rest_t, double best, double slack) {
  const Layers layers = segment_layers(plans, k);
  const int r = layers.stages();
  auto value = [&](double PinnedSolve::*field) {
    return [&plans, field](int s, int combo) { return plans[s].solves[combo].*field; };
  };
  auto sweeps = [&](double PinnedSolve::*field, const std::vector<double>& into, const std::vector<double>& out) {
    std::vector<double> start(layers.width.front(), kInf), end(layers.width.back(), kInf);
    for (size_t a = 0; a < into.size(); ++a) start[m.entry >= 0 ? a : 0] = into[a];
    for (size_t b = 0; b < out.size(); ++b) end[m.exit >= 0 ? b : 0] = out[b];
    return std::make_pair(forward(layers, start, value(field)), backward(layers, end, value(field)));
  };
  const auto lower = sweeps(&PinnedSolve::bound_us, reach_lb, rest_lb);
  const auto times = sweeps(&PinnedSolve::time_us, reach_t, rest_t);
  for (int s = 0; s < r; ++s)
    for (const Arc& a : layers.arcs[s]) {
      const PinnedSolve& x = plans[s].solves[a.cell];
      if (!std::isfinite(x.time_us) || x.proven) continue;
      bool may = lower.first[s][a.from] + x.bound_us + lower.second[s + 1][a.to] <= best * (1 + 1e-9);
      bool promising = times.first[s][a.from] + x.time_us + times.second[s + 1][a.to] <= best * (1 + slack);
      if (may && promising) plans[s].exact[a.cell] = 1;
    }
}

void cut_table(const Problem& pr, const Module& m, const std::vector<SegmentPlan>& plans, int rows, int cols,
               std::vector<PinnedSolve>& cells, const SolveContext& ctx) {
  const int k = pr.num_devices();
  const Layers layers = segment_layers(plans, k);
  const int r = layers.stages();
  const std::vector<int> nodes = module_nodes(m);
  std::unordered_map<int, int> local;
  for (size_t i = 0; i < nodes.size(); ++i) local[nodes[i]] = static_cast<int>(i);
  const ArcCost time = [&](int s, int combo) { return plans[s].solves[combo].time_us; };
  for (int a = 0; a < rows; ++a) {
    if (m.entry >= 0 && !pr.can_run(m.entry, a)) continue;
    std::vector<double> start(layers.width.front(), kInf);
    start[m.entry >= 0 ? a : 0] = 0;
    std::vector<std::vector<int>> via;
    const auto best = forward(layers, std::move(start), time, &via);
    for (int b = 0; b < cols; ++b) {
      const int last = m.exit >= 0 ? b : 0;
      if (!std::isfinite(best[r][last])) continue;
      const std::vector<int> arcs = path_to(layers, via, last);
      Mapping fine;
      fine.device.assign(nodes.size(), -1);
      fine.order.assign(k, {});
      if (m.entry >= 0) {
        fine.device[0] = a;
        fine.order[a].push_back(0);
      }
      for (int s = 0; s < r; ++s) {
        const SegmentPlan& sp = plans[s];
        const PinnedSolve& x = sp.solves[layers.arcs[s][arcs[s]].cell];
        const int nr = static_cast<int>(sp.reads.size());
        for (int d = 0; d < k; ++d)
          for (int l : x.order[d]) {
            if (l < nr) continue;
            int v = local.at(sp.nodes[l - nr]);
            fine.device[v] = d;
            fine.order[d].push_back(v);
          }
      }
      auto replayed = ctx.objective->evaluate(module_problem(pr, m, m.entry >= 0 ? a : -1, m.exit >= 0 ? b : -1), fine);
      PinnedSolve& cell = cells[a * cols + b];
      if (!replayed || ctx.objective->value(*replayed) >= cell.time_us) continue;
      cell.time_us = ctx.objective->value(*replayed);
      cell.proven = false;
      cell.device = std::move(fine.device);
      cell.order = std::move(fine.order);
    }
  }
}

}  // namespace diviml::split
