// The one min-plus DP of split (internal). Split chains choices in layers: the modules of the
// graph (state: the device of the boundary node) and, inside a cut module, its segments
// (state: the devices of the tensors crossing a cut). Both are a layered graph whose arcs carry
// a cost per stage; the forward sweep gives the best cost to reach each state (and the arcs
// that reach it), the backward sweep the best cost from each state to the end.
#pragma once

#include <functional>
#include <vector>

namespace diviml::split {

struct Arc {
  int from = 0, to = 0;  // states of layers s and s + 1
  int cell = 0;          // which solve of stage s the arc uses (its cost)
};

struct Layers {
  std::vector<int> width;              // states per layer: stages + 1 entries
  std::vector<std::vector<Arc>> arcs;  // per stage
  int stages() const { return static_cast<int>(arcs.size()); }
};

// cost(stage, cell); +inf where a cell has no plan.
using ArcCost = std::function<double(int stage, int cell)>;

// best[s][x]: least cost of reaching state x of layer s from the values `start` of layer 0.
// `via`, when given, receives per stage s and state x of layer s + 1 the arc (index into
// arcs[s]) that reaches it, -1 where none does. Ties go to the arc listed first.
std::vector<std::vector<double>> forward(const Layers& layers, std::vector<double> start, const ArcCost& cost,
                                         std::vector<std::vector<int>>* via = nullptr);
// rest[s][x]: least cost from state x of layer s to the values `end` of the last layer.
std::vector<std::vector<double>> backward(const Layers& layers, std::vector<double> end, const ArcCost& cost);
// The arcs (per stage, indices into arcs[s]) of the best path that ends in state `last`.
std::vector<int> path_to(const Layers& layers, const std::vector<std::vector<int>>& via, int last);

}  // namespace diviml::split
