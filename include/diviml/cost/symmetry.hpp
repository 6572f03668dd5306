// Interchangeable devices (issue 13, "Symmetry"): devices a and b are identical in a problem
// when swapping them maps every plan to a plan of the same value: every node costs the same on
// both (null alike), host input and output delays are equal, capacities and `overlap_comm` are
// equal, the link a -> b equals b -> a, and for every other device c the links a <-> c equal the
// links b <-> c. This is the problem's own symmetry, so it holds for roofline and profiled costs
// alike, and devices of the same kind and specs that differ in a link (another server) are not
// identical. The relation is transitive (two transpositions compose into the third), so it
// partitions the devices into classes.
//
// Searches use it to visit each class once: milp orders a class's devices by a criterion
// (`--symmetry inputs|ops|busy`), bnb and split put a node on a class's first unused device
// only (the others would give mirror images).
#pragma once

#include <vector>

#include "diviml/cost/problem.hpp"

namespace diviml {

// Per device, the index of the first device of its class (itself when it has no twin).
std::vector<int> device_classes(const Problem& problem);

// The classes with two or more devices, each in index order.
std::vector<std::vector<int>> identical_groups(const Problem& problem);

// How identical devices are told apart (the value of SolveOptions::symmetry).
enum class SymmetryRule { kNone = 0, kInputs = 1, kOps = 2, kBusy = 3 };

// The device permutation (per device, its image) that puts an assignment in the rule's order:
// within each class, the device that runs the earliest node in topological order (inputs), the
// most nodes (ops) or the most busy time (busy) becomes the class's first device, and so on.
// Applying it to a plan gives a plan of the same value. The identity for kNone.
std::vector<int> canonical_permutation(const Problem& problem, const std::vector<int>& device_of_node,
                                       SymmetryRule rule);

}  // namespace diviml
