// Proven lower bounds on the optimal makespan (latency objective). Each is valid for every
// feasible plan; docs/formulation.md gives the argument. The combined bound is their max.
#pragma once

#include "diviml/cost/problem.hpp"

namespace diviml {

// Device-aware critical path: L_i(k) = cost(i,k) + max(input(i,k),
//   max over preds p of min over l of (L_p(l) + comm(p->i, l, k))); bound = max over sinks of
//   min over k of L_i(k) + output(i,k). Ignores device contention, so it never overestimates.
double critical_path_bound_us(const Problem& problem);

// Work bound: the busiest device in any plan runs at least the average of the per-node
// minimum costs: sum_i min_k cost(i,k) / num_devices.
double average_work_bound_us(const Problem& problem);

// LP work bound: min T s.t. every node is split fractionally over the devices that can run
// it (sum_k y_ik = 1, y >= 0) and every device's fractional load sum_i p_ik y_ik <= T.
// Never below the average work bound; solved with the MILP backend's LP (CLP). 0 on failure.
double lp_work_bound_us(const Problem& problem);

// Max of the bounds above.
double lower_bound_us(const Problem& problem);

}  // namespace diviml
