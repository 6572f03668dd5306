// The layout search (docs/serving.md, "Search"): a local search over tensor-parallel degrees per
// GPU class, the pipeline each group joins and each pipeline's role, from several starts; every
// pipeline it forms gets its best batch, micro-batches and layer split (evaluate.cpp).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <map>
#include <random>

#include "serve_model.hpp"

namespace diviml::serve_detail {
namespace {

struct State {
  std::vector<int> tp;                  // per class
  std::vector<std::vector<int>> owner;  // per class, per group: pipeline slot, -1 unused
  std::vector<ServeRole> role;          // per slot
};

// Fleets with at most this many layouts are searched exhaustively.
constexpr double kExhaustiveLayouts = 20000;

class Search {
 public:
  Search(Model& m, long* evaluations) : m_(m), evaluations_(evaluations), rng_(m.request->seed) {
    if (m.request->mode == "colocated")
      roles_ = {ServeRole::kColocated};
    else if (m.request->mode == "disaggregated")
      roles_ = {ServeRole::kPrefill, ServeRole::kDecode};
    else
      roles_ = {ServeRole::kColocated, ServeRole::kPrefill, ServeRole::kDecode};
  }

  ServeLayout layout(const State& s) {
    std::vector<ServePipeline> pipes;
    for (size_t p = 0; p < s.role.size(); ++p) {
      PipelineSpec spec;
      spec.role = s.role[p];
      for (size_t c = 0; c < s.owner.size(); ++c)
        for (size_t i = 0; i < s.owner[c].size(); ++i)
          if (s.owner[c][i] == static_cast<int>(p))
            spec.groups.push_back(Group{static_cast<int>(c), s.tp[c], static_cast<int>(i)});
      if (spec.groups.empty()) continue;
      const PipelineOutcome& o = outcome(spec);
      if (o.pipeline) pipes.push_back(*o.pipeline);
    }
    return combine(m_, std::move(pipes), "diviml");
  }
  double value(const State& s) { return layout(s).tokens_per_s; }
  // One pipeline evaluated (and cached) for its least TPOT and TTFT alone.
  void probe(const PipelineSpec& spec) { outcome(spec); }
  // The least TPOT and TTFT of any pipeline evaluated (met or not), for the message when none meets
  // the objectives.
  double least_tpot_ = kInf, least_ttft_ = kInf;

  State from_layout(const ServeLayout& l) {
    State s = empty_state();
    for (const ServePipeline& p : l.pipelines) {
      if (p.requests_per_s <= 0) continue;
      if (std::find(roles_.begin(), roles_.end(), p.role) == roles_.end()) continue;
      const std::vector<Group> gs = groups_of(m_, p);
      const int slot = static_cast<int>(s.role.size());
      s.role.push_back(p.role);
      for (const Group& g : gs) {
        if (s.tp[g.cls] != g.tp) regroup(s, g.cls, g.tp);
        s.owner[g.cls][g.index] = slot;
      }
    }
    return s;
  }

  State empty_state() const {
    State s;
    for (const GpuClass& c : m_.classes) {
      s.tp.push_back(c.tps.back());
      s.owner.emplace_back(c.gpus.size() / c.tps.back(), -1);
    }
    return s;
  }

  // Starts: every class its own pipeline(s) in each role mix, all in one pipeline.
  std::vector<State> starts() {
    std::vector<State> out;
    const int C = static_cast<int>(m_.classes.size());
    // One pipeline per class (largest TP), colocated or, in order of compute per byte of
    // bandwidth, prefill for the compute-rich half and decode for the rest.
    std::vector<int> by_ratio(C);
    for (int c = 0; c < C; ++c) by_ratio[c] = c;
    auto ratio = [&](int c) {
      const Device& d = m_.classes[c].spec;
      return *d.peak_gflops / *d.mem_bandwidth_gbps;
    };
    std::sort(by_ratio.begin(), by_ratio.end(), [&](int a, int b) { return ratio(a) > ratio(b); });
    for (int variant = 0; variant < 4; ++variant) {
      State s = empty_state();
      for (int k = 0; k < C; ++k) {
        const int c = by_ratio[k];
        ServeRole role = ServeRole::kColocated;
        if (variant >= 1 && roles_.size() > 1) role = k < (C + 1) / 2 ? ServeRole::kPrefill : ServeRole::kDecode;
        if (roles_.size() == 2 && variant == 0) role = k < (C + 1) / 2 ? ServeRole::kPrefill : ServeRole::kDecode;
        if (variant == 2) {  // every group its own pipeline
          for (auto& o : s.owner[c]) {
            o = static_cast<int>(s.role.size());
            s.role.push_back(role);
          }
        } else if (variant == 3) {  // two pipelines: prefill classes together, decode classes together
          const int slot = role == ServeRole::kPrefill ? 0 : 1;
          while (static_cast<int>(s.role.size()) <= slot)
            s.role.push_back(s.role.empty() ? ServeRole::kPrefill : ServeRole::kDecode);
          if (roles_.size() == 1) s.role.assign(s.role.size(), ServeRole::kColocated);
          for (auto& o : s.owner[c]) o = slot;
        } else {
          const int slot = static_cast<int>(s.role.size());
          s.role.push_back(role);
          for (auto& o : s.owner[c]) o = slot;
        }
      }
      out.push_back(s);
    }
    State all = empty_state();
    all.role.push_back(roles_.front());
    for (auto& v : all.owner) std::fill(v.begin(), v.end(), 0);
    out.push_back(all);
    return out;
  }

  // Every assignment of a role (or none) to each GPU model, the models of one role in one
  // pipeline or each in its own: the layouts a person would sketch first. At most `cap` of them
  // (in a fixed order) where the models are many.
  std::vector<State> kind_starts(size_t cap) {
    std::vector<State> out;
    const int K = static_cast<int>(m_.models.size());
    const int choices = static_cast<int>(roles_.size()) + 1;  // a role, or unused
    double total = 1;
    for (int k = 0; k < K; ++k) total *= choices;
    const long n = static_cast<long>(std::min<double>(total, static_cast<double>(cap)));
    for (long code = 1; code < n; ++code) {
      for (const bool apart : {false, true}) {
        State s = empty_state();
        long rest = code;
        std::map<int, int> slot_of_role;
        for (int k = 0; k < K; ++k) {
          const int choice = static_cast<int>(rest % choices);
          rest /= choices;
          if (choice == 0) continue;
          const ServeRole role = roles_[choice - 1];
          int slot;
          if (apart || slot_of_role.count(choice) == 0) {
            slot = static_cast<int>(s.role.size());
            s.role.push_back(role);
            if (!apart) slot_of_role[choice] = slot;
          } else {
            slot = slot_of_role[choice];
          }
          for (int c : m_.models[k])
            for (auto& o : s.owner[c]) o = slot;
        }
        if (!s.role.empty()) out.push_back(std::move(s));
      }
    }
    return out;
  }

  State mutate(State s) {
    const int C = static_cast<int>(m_.classes.size());
    std::uniform_int_distribution<int> pick_class(0, C - 1);
    const int c = pick_class(rng_);
    const int kind = std::uniform_int_distribution<int>(0, 8)(rng_);
    auto slot_or_new = [&](ServeRole role) {
      const int n = static_cast<int>(s.role.size());
      const int p = std::uniform_int_distribution<int>(0, n)(rng_);
      if (p == n) s.role.push_back(role);
      return p;
    };
    auto any_role = [&] { return roles_[std::uniform_int_distribution<size_t>(0, roles_.size() - 1)(rng_)]; };
    switch (kind) {
      case 0: {  // another tensor-parallel degree for a class
        const auto& tps = m_.classes[c].tps;
        if (tps.size() > 1) regroup(s, c, tps[std::uniform_int_distribution<size_t>(0, tps.size() - 1)(rng_)]);
        break;
      }
      case 1:
      case 2: {  // one group to another (or a new) pipeline, or out
        const int i = std::uniform_int_distribution<int>(0, static_cast<int>(s.owner[c].size()) - 1)(rng_);
        const int r = std::uniform_int_distribution<int>(0, 9)(rng_);
        s.owner[c][i] = r == 0 ? -1 : slot_or_new(any_role());
        break;
      }
      case 3: {  // a whole class to one pipeline
        const int p = slot_or_new(any_role());
        for (auto& o : s.owner[c]) o = p;
        break;
      }
      case 4: {  // a pipeline's role
        if (s.role.empty() || roles_.size() == 1) break;
        const int p = std::uniform_int_distribution<int>(0, static_cast<int>(s.role.size()) - 1)(rng_);
        s.role[p] = any_role();
        break;
      }
      case 5: {  // merge two pipelines
        if (s.role.size() < 2) break;
        const int n = static_cast<int>(s.role.size());
        const int a = std::uniform_int_distribution<int>(0, n - 1)(rng_);
        const int b = std::uniform_int_distribution<int>(0, n - 1)(rng_);
        for (auto& v : s.owner)
          for (auto& o : v)
            if (o == b) o = a;
        break;
      }
      case 7: {  // every class of one GPU model to one pipeline
        const auto& k = m_.models[std::uniform_int_distribution<size_t>(0, m_.models.size() - 1)(rng_)];
        const int p = slot_or_new(any_role());
        for (int cc : k)
          for (auto& o : s.owner[cc]) o = p;
        break;
      }
      case 8: {  // one GPU model's groups in n pipelines of (nearly) equal size
        const auto& k = m_.models[std::uniform_int_distribution<size_t>(0, m_.models.size() - 1)(rng_)];
        int groups = 0;
        for (int cc : k) groups += static_cast<int>(s.owner[cc].size());
        const int n = std::uniform_int_distribution<int>(1, std::max(1, groups))(rng_);
        const ServeRole role = any_role();
        const int first = static_cast<int>(s.role.size());
        for (int i = 0; i < n; ++i) s.role.push_back(role);
        int g = 0;
        for (int cc : k)
          for (auto& o : s.owner[cc]) o = first + (g++) * n / groups;
        break;
      }
      default: {  // a class's groups each their own pipeline (replicas)
        const ServeRole role = any_role();
        for (auto& o : s.owner[c]) {
          o = static_cast<int>(s.role.size());
          s.role.push_back(role);
        }
        break;
      }
    }
    compact(s);
    return s;
  }

  // Every layout (each class's degree, each group in a pipeline or none, each pipeline's role)
  // when there are at most `cap` of them: the best is then proven within the model. False,
  // without evaluating anything, when there are more.
  bool exhaustive(double cap, State* best, double* best_value) {
    const int C = static_cast<int>(m_.classes.size());
    const double R = static_cast<double>(roles_.size());
    // Layouts of G groups: sum over k of (ways to put them in k labelled-by-first-use pipelines or
    // none) x R^k, by a recurrence over the groups (ways[k]: assignments so far using k pipelines).
    auto layouts_of = [&](int G) {
      std::vector<double> ways(G + 2, 0.0);
      ways[0] = 1;
      for (int g = 0; g < G; ++g) {
        std::vector<double> next(G + 2, 0.0);
        for (int k = 0; k <= g; ++k) {
          next[k] += ways[k] * (k + 1);  // none, or one of the k pipelines
          next[k + 1] += ways[k];        // a new one
        }
        ways = std::move(next);
      }
      double total = 0, r = 1;
      for (int k = 0; k <= G; ++k, r *= R) total += ways[k] * r;
      return total;
    };
    double total = 0;
    std::vector<int> tps;
    std::function<void(int)> count = [&](int c) {
      if (total > cap) return;
      if (c == C) {
        int G = 0;
        for (int k = 0; k < C; ++k) G += m_.groups_of(k, tps[k]);
        total += layouts_of(G);
        return;
      }
      for (int t : m_.classes[c].tps) {
        tps.push_back(t);
        count(c + 1);
        tps.pop_back();
      }
    };
    count(0);
    if (total > cap) return false;
    std::function<void(int)> over_tps = [&](int c) {
      if (c < C) {
        for (int t : m_.classes[c].tps) {
          tps.push_back(t);
          over_tps(c + 1);
          tps.pop_back();
        }
        return;
      }
      State s;
      s.tp = tps;
      std::vector<std::pair<int, int>> where;  // (class, group)
      for (int k = 0; k < C; ++k) {
        s.owner.emplace_back(m_.groups_of(k, tps[k]), -1);
        for (int i = 0; i < m_.groups_of(k, tps[k]); ++i) where.emplace_back(k, i);
      }
      const int G = static_cast<int>(where.size());
      std::function<void(int, int)> assign = [&](int g, int used) {
        if (g < G) {
          for (int o = -1; o <= used; ++o) {
            s.owner[where[g].first][where[g].second] = o;
            assign(g + 1, std::max(used, o + 1));
          }
          return;
        }
        if (used == 0) return;
        s.role.assign(used, roles_.front());
        std::function<void(int)> roles = [&](int p) {
          if (p < used) {
            for (ServeRole r : roles_) s.role[p] = r, roles(p + 1);
            return;
          }
          const double v = value(s);
          if (v > *best_value * (1 + 1e-12)) *best_value = v, *best = s;
        };
        roles(0);
      };
      assign(0, 0);
    };
    over_tps(0);
    return true;
  }

 private:
  const PipelineOutcome& outcome(const PipelineSpec& spec) {
    auto key = std::make_pair(static_cast<int>(spec.role), spec.groups);
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    ++*evaluations_;
    const PipelineOutcome& o = cache_.emplace(key, evaluate_pipeline(m_, spec)).first->second;
    least_tpot_ = std::min(least_tpot_, o.least_tpot_us);
    least_ttft_ = std::min(least_ttft_, o.least_ttft_us);
    if (o.pipeline && o.pipeline->role != ServeRole::kPrefill) least_tpot_ = std::min(least_tpot_, o.pipeline->tpot_us);
    if (o.pipeline && o.pipeline->role != ServeRole::kDecode) least_ttft_ = std::min(least_ttft_, o.pipeline->ttft_us);
    return o;
  }

  // A class at another degree: its new groups join the pipeline of their first GPU's old group.
  void regroup(State& s, int c, int tp) {
    const int old = s.tp[c];
    const int n = static_cast<int>(m_.classes[c].gpus.size());
    std::vector<int> owner(n / tp, -1);
    for (int i = 0; i < n / tp; ++i) {
      const int old_group = i * tp / old;
      if (old_group < static_cast<int>(s.owner[c].size())) owner[i] = s.owner[c][old_group];
    }
    s.tp[c] = tp;
    s.owner[c] = std::move(owner);
  }

  // Drops empty slots.
  static void compact(State& s) {
    std::vector<int> used(s.role.size(), 0);
    for (const auto& v : s.owner)
      for (int o : v)
        if (o >= 0) used[o] = 1;
    std::vector<int> remap(s.role.size(), -1);
    std::vector<ServeRole> role;
    for (size_t p = 0; p < s.role.size(); ++p)
      if (used[p]) {
        remap[p] = static_cast<int>(role.size());
        role.push_back(s.role[p]);
      }
    for (auto& v : s.owner)
      for (int& o : v)
        if (o >= 0) o = remap[o];
    s.role = std::move(role);
  }

  Model& m_;
  long* evaluations_;
  std::mt19937_64 rng_;
  std::vector<ServeRole> roles_;
  std::map<std::pair<int, std::vector<Group>>, PipelineOutcome> cache_;
};

}  // namespace

ServeLayout search_layout(Model& m, const std::vector<ServeLayout>& seeds, double limit_s, long* evaluations,
                          double* least_tpot_us, double* least_ttft_us) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  Search search(m, evaluations);
  std::vector<State> starts = search.starts();
  for (const ServeLayout& l : seeds)
    if (l.tokens_per_s > 0) starts.push_back(search.from_layout(l));
  // The sketches by GPU model: the best few join the starts.
  {
    std::vector<std::pair<double, State>> sketched;
    for (State& s : search.kind_starts(4096)) {
      if (elapsed() >= 0.3 * limit_s) break;
      const double v = search.value(s);
      if (v > 0) sketched.emplace_back(v, std::move(s));
    }
    std::stable_sort(sketched.begin(), sketched.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (size_t i = 0; i < sketched.size() && i < 4; ++i) starts.push_back(std::move(sketched[i].second));
  }
  State best = starts.front();
  double best_value = -1;
  for (const State& s : starts) {
    const double v = search.value(s);
    if (v > best_value) best_value = v, best = s;
  }
  auto finish = [&] {
    *least_tpot_us = std::min(*least_tpot_us, search.least_tpot_);
    *least_ttft_us = std::min(*least_ttft_us, search.least_ttft_);
    return search.layout(best);
  };
  // Small fleets: every layout.
  if (search.exhaustive(kExhaustiveLayouts, &best, &best_value)) return finish();
  // The least TPOT and TTFT any single pipeline reaches, for the message when none meets the SLOs.
  {
    const int C = static_cast<int>(m.classes.size());
    for (int c = 0; c < C; ++c)
      for (int tp : m.classes[c].tps) {
        PipelineSpec all{ServeRole::kColocated, {}};
        for (int cc = 0; cc < C; ++cc) {
          const int t = cc == c ? tp : m.classes[cc].tps.back();
          for (int i = 0; i < m.groups_of(cc, t); ++i) all.groups.push_back(Group{cc, t, i});
        }
        for (const PipelineSpec& spec :
             {PipelineSpec{ServeRole::kColocated, {Group{c, tp, 0}}}, all,
              PipelineSpec{ServeRole::kPrefill, {Group{c, tp, 0}}}, PipelineSpec{ServeRole::kPrefill, all.groups}})
          search.probe(spec);
      }
  }
  size_t next = 0;
  int kicks_without_gain = 0;
  std::mt19937_64 rng(m.request->seed + 7);
  double last_report = 0;
  while (elapsed() < limit_s) {
    State cur;
    if (next < starts.size()) {
      cur = starts[next++];
    } else {
      if (kicks_without_gain >= 80) break;  // converged: the result no longer depends on the time left
      cur = best;
      for (int k = 0; k < 3; ++k) cur = search.mutate(cur);
      ++kicks_without_gain;
    }
    double cur_value = search.value(cur);
    int stall = 0;
    while (stall < 250 && elapsed() < limit_s) {
      State cand = search.mutate(cur);
      const double v = search.value(cand);
      if (v > cur_value * (1 + 1e-9)) {
        cur = std::move(cand);
        cur_value = v;
        stall = 0;
      } else {
        ++stall;
      }
      if (cur_value > best_value * (1 + 1e-9)) {
        best_value = cur_value;
        best = cur;
        kicks_without_gain = 0;
      }
      if (m.request->progress && elapsed() - last_report >= 1.0) {
        last_report = elapsed();
        char line[160];
        std::snprintf(line, sizeof line, "serve: %.0f s, best %.0f tokens/s, %ld pipelines evaluated", elapsed(),
                      best_value, *evaluations);
        m.request->progress(line);
      }
    }
  }
  return finish();
}

}  // namespace diviml::serve_detail
