// Split's one min-plus DP against brute force over every path of small layered graphs.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "solvers/split/min_plus.hpp"

using namespace diviml::split;

namespace {

// Random layers: widths 1..3, arcs between random state pairs (some states unreachable),
// cells 0..5 per stage with costs (some +inf).
Layers random_layers(std::mt19937& rng, std::vector<std::vector<double>>& cell_cost) {
  std::uniform_int_distribution<int> width(1, 3), cells(1, 6);
  std::uniform_real_distribution<double> u(0, 1);
  Layers layers;
  const int stages = 1 + static_cast<int>(rng() % 4);
  layers.width.push_back(width(rng));
  for (int s = 0; s < stages; ++s) {
    layers.width.push_back(width(rng));
    const int c = cells(rng);
    cell_cost.emplace_back();
    for (int i = 0; i < c; ++i) cell_cost.back().push_back(u(rng) < 0.15 ? INFINITY : std::floor(u(rng) * 10));
    layers.arcs.emplace_back();
    for (int a = 0; a < layers.width[s]; ++a)
      for (int b = 0; b < layers.width[s + 1]; ++b)
        if (u(rng) < 0.7) layers.arcs.back().push_back(Arc{a, b, static_cast<int>(rng() % c)});
  }
  return layers;
}

// Least cost over every path from state `from` of layer 0 to state `to` of the last layer.
double brute(const Layers& l, const std::vector<std::vector<double>>& cost, int s, int state, int to) {
  if (s == l.stages()) return state == to ? 0.0 : INFINITY;
  double best = INFINITY;
  for (const Arc& a : l.arcs[s])
    if (a.from == state) best = std::min(best, cost[s][a.cell] + brute(l, cost, s + 1, a.to, to));
  return best;
}

}  // namespace

TEST(MinPlus, ForwardBackwardAndPathAgreeWithBruteForce) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::vector<double>> cost;
    Layers l = random_layers(rng, cost);
    const ArcCost c = [&](int s, int cell) { return cost[s][cell]; };
    std::vector<double> start(l.width.front(), INFINITY), end(l.width.back(), 0.0);
    start[0] = 0;
    std::vector<std::vector<int>> via;
    const auto fwd = forward(l, start, c, &via);
    const auto bwd = backward(l, end, c);
    double best = INFINITY;
    for (int to = 0; to < l.width.back(); ++to) {
      const double expect = brute(l, cost, 0, 0, to);
      EXPECT_EQ(fwd.back()[to], expect) << "round " << round;
      best = std::min(best, expect);
      if (!std::isfinite(expect)) continue;
      // The path through `via` costs what forward says and ends where asked.
      const std::vector<int> arcs = path_to(l, via, to);
      double sum = 0;
      int state = 0;
      for (int s = 0; s < l.stages(); ++s) {
        const Arc& a = l.arcs[s][arcs[s]];
        EXPECT_EQ(a.from, state);
        sum += cost[s][a.cell];
        state = a.to;
      }
      EXPECT_EQ(state, to);
      EXPECT_EQ(sum, expect);
    }
    EXPECT_EQ(bwd.front()[0], best) << "round " << round;
  }
}
