// Every serving layout of a tiny fleet, enumerated (the serving oracle's reference): each GPU
// class's tensor-parallel degree, each group in a pipeline (taking its groups in class order, as
// the search forms them) or in none, each pipeline's role among `allowed`. Exponential: for
// fleets of a few GPUs.
#pragma once

#include <algorithm>
#include <functional>
#include <vector>

#include "serve/serve_model.hpp"

namespace diviml::test {

// The most tokens per second of any layout; `allowed`: the roles a pipeline may take (0 colocated,
// 1 prefill, 2 decode).
inline double best_by_enumeration(serve_detail::Model& m, const std::vector<int>& allowed) {
  double best = 0;
  std::vector<int> tps;
  std::function<void(size_t)> over_tps = [&](size_t c) {
    if (c < m.classes.size()) {
      for (int t : m.classes[c].tps) {
        tps.push_back(t);
        over_tps(c + 1);
        tps.pop_back();
      }
      return;
    }
    std::vector<serve_detail::Group> groups;
    for (size_t k = 0; k < tps.size(); ++k)
      for (int i = 0; i < m.groups_of(static_cast<int>(k), tps[k]); ++i)
        groups.push_back(serve_detail::Group{static_cast<int>(k), tps[k], i});
    const int G = static_cast<int>(groups.size());
    std::vector<int> owner(G, -1), role;
    std::function<void(int, int)> assign = [&](int g, int used) {
      if (g < G) {
        for (int o = -1; o <= used; ++o) {
          owner[g] = o;
          assign(g + 1, std::max(used, o + 1));
        }
        return;
      }
      if (used == 0) return;
      role.assign(used, 0);
      std::function<void(int)> roles = [&](int p) {
        if (p < used) {
          for (int r : allowed) role[p] = r, roles(p + 1);
          return;
        }
        std::vector<ServePipeline> pipes;
        for (int q = 0; q < used; ++q) {
          serve_detail::PipelineSpec spec;
          spec.role = static_cast<ServeRole>(role[q]);
          for (int k = 0; k < G; ++k)
            if (owner[k] == q) spec.groups.push_back(groups[k]);
          auto o = serve_detail::evaluate_pipeline(m, spec);
          if (o.pipeline) pipes.push_back(*o.pipeline);
        }
        best = std::max(best, serve_detail::combine(m, pipes, "enum").tokens_per_s);
      };
      roles(0);
    };
    assign(0, 0);
  };
  over_tps(0);
  return best;
}

}  // namespace diviml::test
