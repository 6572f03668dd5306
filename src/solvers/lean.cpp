#include "diviml/solvers/lean.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <utility>

#include "load_search.hpp"

namespace diviml {

namespace {

constexpr int kMaxPasses = 20;

// What a search lowers, compared lexicographically (first: how far the choice is from what it may
// take; second: what it trades).
using Value = std::pair<double, double>;
using Key = std::function<Value(const LoadSearch&)>;

bool lower(const Value& a, const Value& b) {
  if (a.first != b.first) return a.first < b.first - 1e-9 * std::max(1.0, std::abs(b.first));
  return a.second < b.second - 1e-9 * std::max(1.0, std::abs(b.second));
}

// Steepest single-task moves (every device, seeded order) while the key falls.
void descend(LoadSearch& s, const Problem& pr, const SolveContext& ctx, std::mt19937_64& rng, const Key& key) {
  const int k = pr.num_devices();
  std::vector<int> tasks(s.device().size());
  std::iota(tasks.begin(), tasks.end(), 0);
  Value now = key(s);
  for (int pass = 0; pass < kMaxPasses && !ctx.stopped(); ++pass) {
    bool improved = false;
    std::shuffle(tasks.begin(), tasks.end(), rng);
    for (size_t i = 0; i < tasks.size(); ++i) {
      if ((i & 63) == 0 && ctx.stopped()) return;
      const int t = tasks[i], a = s.device()[t];
      int best_b = -1;
      Value best = now;
      for (int b = 0; b < k; ++b) {
        if (b == a || !s.allowed(t, b)) continue;
        s.move(t, b);
        const Value x = key(s);
        if (lower(x, best)) best = x, best_b = b;
        s.move(t, a);
      }
      if (best_b >= 0) {
        s.move(t, best_b);
        now = best;
        improved = true;
      }
    }
    if (!improved) return;
  }
}

// The descent, then an iterated local search: a run of 2-12 consecutive tasks of one lane (in
// topological order) moved to the device of the task before or after it, the descent again,
// kept when the key falls; it ends after 100 + tasks / 2 kicks in a row without a gain, or at
// the deadline. Single moves cannot merge a fragment of several tasks into its neighbour's
// device (each step alone adds a crossing); runs can.
std::vector<int> search(const Problem& pr, const SolveContext& ctx, const std::vector<int>& start, const Key& key) {
  std::mt19937_64 rng(ctx.options.seed + 17);
  const int n = pr.num_nodes();
  LoadSearch first(pr, start);
  descend(first, pr, ctx, rng, key);
  std::vector<int> elite = first.device();
  Value elite_key = key(first);
  const int lanes = first.lanes();
  const auto& topo = pr.graph().topo_order();
  const int patience = 100 + static_cast<int>(elite.size()) / 2;
  for (int stale = 0; stale < patience && !ctx.stopped(); ++stale) {
    LoadSearch s(pr, elite);
    const int l = static_cast<int>(rng() % lanes);
    const int len = 2 + static_cast<int>(rng() % 11), from = static_cast<int>(rng() % n);
    const int to = std::min(n, from + len);
    // The device of the neighbour the run joins (before it, or after it).
    const bool before = (rng() & 1) && from > 0;
    const int anchor = before ? topo[from - 1] : (to < n ? topo[to] : topo[std::max(0, from - 1)]);
    const int b = elite[l * n + anchor];
    for (int i = from; i < to; ++i) {
      const int t = l * n + topo[i];
      if (s.device()[t] != b && s.allowed(t, b)) s.move(t, b);
    }
    descend(s, pr, ctx, rng, key);
    const Value x = key(s);
    if (lower(x, elite_key)) {
      elite = s.device();
      elite_key = x;
      stale = -1;
    }
  }
  return elite;
}

}  // namespace

std::vector<Realized> lean_choices(const Problem& pr, const SolveContext& ctx, const std::vector<int>& device,
                                   double load_cap, const std::vector<int>* fastest) {
  std::vector<Realized> out;
  if (device.empty() || pr.num_nodes() == 0 || ctx.stopped()) return out;
  const LoadSearch start(pr, device);
  const long crossings = start.crossings();
  // Realised choices within the limit (realize_pipeline drops every decision above it).
  const double load = start.max_load();
  if (!std::isfinite(load)) return out;
  const double lanes = start.lanes();
  // The realised latency of a choice (+inf when it does not realise), kept in `out` when it is
  // within the context's latency limit; one above it is realised again without the limit, to
  // say by how much.
  SolveContext free = ctx;
  free.options.max_latency_us = 0;
  auto realise = [&](const std::vector<int>& choice, const std::string& what) {
    auto r = realize_pipeline(pr, ctx, choice);
    if (!r) {
      auto over = ctx.options.max_latency_us > 0 ? realize_pipeline(pr, free, choice) : std::nullopt;
      return over ? over->rank.latency : kInf;
    }
    const double latency = r->rank.latency;
    if (choice == device) return latency;
    const LoadSearch s(pr, choice);
    r->output.notes.push_back("lean: " + what + ": " + std::to_string(crossings) + " -> " +
                              std::to_string(s.crossings()) + " crossings per round, load per input " +
                              std::to_string(load / lanes) + " -> " + std::to_string(s.max_load() / lanes) + " us");
    out.push_back(std::move(*r));
    return latency;
  };
  // Within the cap: one input's time first (its estimate: latency_estimate), then the load.
  if (crossings > 0 && std::isfinite(load_cap)) {
    const double cap = std::max(load_cap, load) * (1 + 1e-12);
    const Key within = [&](const LoadSearch& s) {
      const double load = s.max_load();
      return Value{std::max(0.0, load - cap), s.latency_estimate(0.5 * load) + 1e-3 * load};
    };
    realise(search(pr, ctx, device, within), "a lower latency within the period's tolerance");
  }
  // Under a latency limit T: the least load whose latency estimate stays within a target (an
  // excess over it priced at three times its microseconds). The realisation adds waits to the
  // estimate, so the target is the start's estimate scaled by T over its realised latency, and
  // shrinks the same way when a choice realises above T. From the pick (within the limit) and
  // from the least period found whatever its latency.
  if (ctx.options.max_latency_us > 0) {
    const double limit = ctx.options.max_latency_us;
    std::vector<const std::vector<int>*> starts = {&device};
    if (fastest && !fastest->empty() && *fastest != device) starts.push_back(fastest);
    constexpr int kTries = 4;
    int searches_left = static_cast<int>(starts.size()) * kTries;
    for (size_t si = 0; si < starts.size() && !ctx.stopped(); ++si) {
      const double realised = realise(*starts[si], "");
      const LoadSearch at_start(pr, *starts[si]);
      double target = at_start.latency_estimate(0.5 * at_start.max_load()) * limit / std::max(realised, 1e-9);
      if (!std::isfinite(target) || target <= 0) target = 0.5 * limit;
      for (int attempt = 0; attempt < kTries && !ctx.stopped(); ++attempt, --searches_left) {
        const Key fitted = [target](const LoadSearch& s) {
          const double load = s.max_load();
          return Value{0.0, load + 3 * std::max(0.0, s.latency_estimate(0.5 * load) - target)};
        };
        const SolveContext slice = ctx.within(ctx.seconds_left() / std::max(1, searches_left));
        std::vector<int> choice = search(pr, slice, *starts[si], fitted);
        char what[128];
        std::snprintf(what, sizeof what, "the least load with a latency estimate within %.6g us%s", target,
                      si == 0 ? "" : ", from the least period found");
        const double latency = realise(choice, what);
        if (latency <= limit * (1 + 1e-9)) {
          searches_left -= kTries - attempt - 1;
          break;
        }
        target *= std::min(0.9, limit / latency);  // +inf latency: no room at all
      }
    }
  }
  return out;
}

}  // namespace diviml
