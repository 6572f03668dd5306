#include "min_plus.hpp"

#include <limits>

namespace diviml::split {

namespace {
constexpr double kInfinity = std::numeric_limits<double>::infinity();
}

std::vector<std::vector<double>> forward(const Layers& layers, std::vector<double> start, const ArcCost& cost,
                                         std::vector<std::vector<int>>* via) {
  const int stages = layers.stages();
  std::vector<std::vector<double>> best(stages + 1);
  best[0] = std::move(start);
  if (via) via->assign(stages, {});
  for (int s = 0; s < stages; ++s) {
    best[s + 1].assign(layers.width[s + 1], kInfinity);
    if (via) (*via)[s].assign(layers.width[s + 1], -1);
    const std::vector<Arc>& arcs = layers.arcs[s];
    for (int i = 0; i < static_cast<int>(arcs.size()); ++i) {
      const Arc& a = arcs[i];
      const double t = best[s][a.from] + cost(s, a.cell);
      if (t < best[s + 1][a.to]) {
        best[s + 1][a.to] = t;
        if (via) (*via)[s][a.to] = i;
      }
    }
  }
  return best;
}

std::vector<std::vector<double>> backward(const Layers& layers, std::vector<double> end, const ArcCost& cost) {
  const int stages = layers.stages();
  std::vector<std::vector<double>> rest(stages + 1);
  rest[stages] = std::move(end);
  for (int s = stages - 1; s >= 0; --s) {
    rest[s].assign(layers.width[s], kInfinity);
    for (const Arc& a : layers.arcs[s]) {
      const double t = cost(s, a.cell) + rest[s + 1][a.to];
      if (t < rest[s][a.from]) rest[s][a.from] = t;
    }
  }
  return rest;
}

std::vector<int> path_to(const Layers& layers, const std::vector<std::vector<int>>& via, int last) {
  std::vector<int> arcs(layers.stages(), -1);
  for (int s = layers.stages() - 1, x = last; s >= 0 && x >= 0; --s) {
    arcs[s] = via[s][x];
    x = arcs[s] >= 0 ? layers.arcs[s][arcs[s]].from : -1;
  }
  return arcs;
}

}  // namespace diviml::split
