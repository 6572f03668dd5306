// The throughput MILP (docs/formulation.md, "Throughput"): for R lanes, the lane-by-node device
// choice that minimises the busiest resource of a round (device compute, each link's tensor
// moves, the host links), with weights resident once per device and lanes' symmetry broken.
#pragma once

#include <vector>

#include "diviml/milp/milp.hpp"
#include "diviml/objective/plan.hpp"

namespace diviml {

struct ThroughputMilp {
  MilpModel model;
  int lanes = 1;
  int period = -1;                               // P: the round's busiest load over R (us per input)
  std::vector<std::vector<std::vector<int>>> x;  // x[lane][node][device], -1 where it cannot go
};

// Variables: x[l][v][d] binary (lane l runs v on d); y[v][d] weights of v resident on d (when a
// capacity could bind); m[l][u][a][b] in [0, 1], at least x[l][u][a] + x[l][w][b] - 1 for each
// consumer w: u's tensor crosses link a -> b in lane l, counted once per destination and priced
// at u's cheapest out-edge on that link (its tensor). Rows: every resource's load over a round
// <= R * P. Symmetry: lanes sorted by their compute on the fastest device (any plan can be
// renumbered so). Pairs a -> b without a link forbid the pair outright.
// `start` (optional, R * n devices) becomes the MIP start.
ThroughputMilp build_throughput_milp(const Problem& problem, int lanes, const std::vector<int>* start);
// Load rows per device and per ordered device pair (a * k + b), as (column, us) terms: a device
// whose copies do not overlap compute (overlap_comm false) is busy for every copy from or to it,
// so each link's terms are added to the rows of such ends. Shared by the period MILP and the
// period LP bound.
void add_copy_occupancy(const Problem& problem, std::vector<std::vector<std::pair<int, double>>>& device_load,
                        const std::vector<std::vector<std::pair<int, double>>>& link_load);
// Appends 2k rows to the pair rows (a * k + b): each device's way out of its server (k * k + a)
// and way in (k * k + k + b), holding the terms of every pair that crosses servers
// (Platform::crosses_servers; docs/cost-model.md). Call after add_copy_occupancy.
void add_nic_loads(const Problem& problem, std::vector<std::vector<std::pair<int, double>>>& link_load);
// The lane-by-node devices of a solution.
std::vector<int> devices_from_solution(const Problem& problem, const ThroughputMilp& milp,
                                       const std::vector<double>& x);

}  // namespace diviml
