// Proven lower bounds on the optimal makespan (latency objective). Each is valid for every
// feasible plan; docs/formulation.md gives the argument. The combined bound is their max.
#pragma once

#include <vector>

#include "diviml/cost/problem.hpp"

namespace diviml {

// Heads and tails, per node and device (index node * K + device; +inf where the node cannot
// run). head = a lower bound on the node's start when it runs on that device; tail = a lower
// bound on the time from that start to the end of the plan (its own cost, then the longest
// chain of successors with the cheapest transfers, then the return to the host).
// On graphs of up to 500 nodes and 8 devices both also carry load (issue 17): the ancestors of
// v that run on d all end before v starts there, and each one that runs elsewhere ends, plus
// the cheapest transfer onto d of an edge into v's ancestry, before v starts; those elsewhere
// also load the other devices (weighted mean, weights 1 / each device's total work). So
// head(v, d) >= the least, over which ancestors run elsewhere, of max(work of those on d,
// their largest end-plus-transfer, transfer + their weighted work elsewhere), the last two
// relaxed fractionally; tails the same with descendants, the cheapest transfer off d and their
// tails elsewhere. Checked on random replayed plans (tests/unit/objective/test_lower_bound.cpp).
struct HeadTail {
  std::vector<double> head, tail;
};
HeadTail heads_and_tails(const Problem& problem);

// Device-aware critical path: L_i(k) = cost(i,k) + max(input(i,k),
//   max over preds p of min over l of (L_p(l) + comm(p->i, l, k))); bound = max over sinks of
//   min over k of L_i(k) + output(i,k). Ignores device contention, so it never overestimates.
//   Computed as max over all nodes i of min over k of head(i,k) + tail(i,k), which is the same
//   at sinks and can only be larger elsewhere.
double critical_path_bound_us(const Problem& problem);

// Work bound: the busiest device in any plan runs at least the average of the per-node
// minimum costs: sum_i min_k cost(i,k) / num_devices.
double average_work_bound_us(const Problem& problem);

// LP work bound: min T s.t. every node is split fractionally over the devices that can run
// it (sum_k y_ik = 1, y >= 0) and every device's fractional load sum_i p_ik y_ik <= T. By LP
// duality its value is max over device weights w >= 0, sum w = 1, of sum_i min_k w_k p_ik, and
// every such weighting gives a valid bound on its own. It is computed by column generation over
// whole assignments, never as the n x k LP: a master of k + 1 rows (CLP, in process) mixes the
// load vectors of the assignments found so far and proposes weights (its duals); the pricing
// evaluates the weighted sum exactly and yields the next assignment; it stops when the two
// meet (the LP's optimum), after 1000 columns or at `time_limit_s`. O(n k) per step, so it
// scales to any graph (30k nodes: 8 ms). The bound returned is always an exactly evaluated
// weighted sum: sound whatever the simplex's tolerances or a limit that stopped it. Never
// below the average work bound (uniform weights); `time_limit_s` <= 0 returns that one.
// `memory`: the LP also keeps every device's resident bytes (weights and state) within its
// capacity, sum_i m_i y_ik <= cap_k, which every plan's assignment obeys; its prices mu_k >= 0
// enter the bound as (sum_i min_k (w_k p_ik + mu_k m_i) - sum_k mu_k cap_k) / sum w, again
// valid for any w and mu and evaluated exactly. Memory forces work onto slower devices, which a
// bound without it cannot see (GPT-3 on cluster-3srv).
double lp_work_bound_us(const Problem& problem, double time_limit_s = 10.0, bool memory = false);

// The same bound with at most `iterations` columns and at most `time_limit_s` seconds (the quick
// bound of views: valid whenever it stops, only less tight). Skips the search (average work
// bound) when no weighting can exceed `at_least` (the busiest device's load with every node on
// its fastest device bounds the LP from above).
double ascent_work_bound_us(const Problem& problem, int iterations = 1000, double at_least = 0, bool memory = false,
                            double time_limit_s = 1e9);

// The device weights w (w >= 0, sum w = 1) of the best work bound the column generation above
// finds within `iterations` columns and `time_limit_s` (uniform when it finds none better): for
// any set of nodes, sum_i min_k w_k p_ik is a lower bound on the weighted mean of the devices'
// loads, so on the busiest one. The branch and bound prices its remaining work with them.
std::vector<double> work_bound_weights(const Problem& problem, int iterations, double time_limit_s);

// Energetic bound: a target makespan T is refuted when no fractional assignment fits. Under T,
// node v may run on device d only in the window [head(v, d), T - tail(v, d) + cost(v, d)]
// (heads_and_tails), and only where that window holds its cost. Each node is split over the
// devices whose window holds it (sum_d y_vd = 1, y >= 0); for every device and interval [a, b],
// the least time each node must spend inside it (starting as early or as late as its window
// allows), times y_vd, must fit in b - a. That LP (min overflow, intervals added as the LP
// overfills them) is infeasible only when no plan ends by T: proven by the LP's Lagrangian value
// at its row prices, evaluated exactly here (lagrangian_bound), never by the simplex's word. It
// sees what the load and path bounds see apart: a slow device can take work off a fast one only
// inside the window its transfers leave. Bisection over T from `at_least` (a proven bound) to
// `at_most` (a plan's makespan, or +inf) within 0.1%, for at most `time_limit_s`; returns the
// highest refuted T, or `at_least`. Skipped (returns `at_least`) on graphs whose interval checks
// would be too large (a few hundred nodes).
double energetic_bound_us(const Problem& problem, double at_least, double at_most, double time_limit_s);

// Module bound with memory (src/objective/memory_bound.cpp): the graph's split nodes
// (find_split_nodes, graph.hpp: every node before one is its ancestor, every node after it its
// descendant) split it into modules that every plan runs one after another, so the makespan is at least
// the sum of the modules' times. A module's time is at least each device's load in it (the
// costs of its nodes there) and its longest path (costs where its ops run, a transfer where
// consecutive ops sit apart; the first module's path from its source's input, the last's to
// its end's output); and the same plan keeps every device's resident bytes (weights and state
// of its nodes) within its capacity. LP over every node's device shares x_vd (sum_d x_vd = 1,
// x >= 0): min sum_m T_m subject to T_m >= sum_{v in m} c(v, d) x_vd per device, T_m >= the
// path's sum_v sum_d c'(v, d) x_vd + sum_e t_e y_e with y_e >= x_ud - x_wd per device,
// sum_v m_v x_vd <= cap_d. Every plan's assignment is a point of it, so its value bounds the
// makespan; proven by the Lagrangian at the LP's prices, evaluated exactly (lagrangian_bound).
// Paths: each module's longest by least cost. Nodes off the paths that are alike within a
// module (devices, costs, bytes: a layer's heads) are one commodity of their count, so the LP
// stays small on graphs of 40,000 ops. Where memory does not bind (every device holds every
// node's resident bytes) it is not computed (returns 0): the critical path and work bounds see
// nearly as much there. It sees what they miss apart on memory-bound models: GPT-3 does not fit
// the H100s, so some of its layers run on slower GPUs, and where its heads run in parallel the
// devices that may hold them are few.
double module_memory_bound_us(const Problem& problem, double time_limit_s);

// Max of the bounds above but the energetic one; the LPs get at most `lp_time_limit_s` (0:
// skipped).
double lower_bound_us(const Problem& problem, double lp_time_limit_s = 10.0);

}  // namespace diviml
