// Plan validator: checks a plan with explicit times against the problem, independently of
// the solver that made it. Returns the first violation as a one-line error.
#pragma once

#include "diviml/objective/plan.hpp"

namespace diviml {

// Checks: every node placed once on a device that can run it; end - start equals the cost;
// start >= 0; each edge's dst starts no earlier than src's end plus the transfer delay;
// host inputs arrive before their node starts; no two nodes overlap on one device; resident
// weights fit each device's memory; makespan_us equals the latest finish including returns
// to the host; lower_bound_us <= makespan_us. Relative tolerance 1e-6. Also rejects: an edge,
// host input or output that needs a link the platform lacks; a transfer missing for an edge
// that crosses devices, listed twice, or listed between ops on one device; NaN or infinity in
// any time; status `optimal` with a gap above kOptimalityTolerance; members of a colocation
// group on different devices.
Status validate(const Problem& problem, const Plan& plan);

// Nodes of one colocation group on one device, in every lane of a throughput plan (a group's
// weights exist once: lanes pipeline through them): the first pair
// that is not, naming the group. Part of validate() and of the throughput validator.
Status check_colocation(const Problem& problem, const Plan& plan);

// What drawing a plan needs, for plans drawn without validation (`diviml gantt` on a measured
// timeline): every node placed exactly once (per lane of a throughput plan, lanes within the
// plan's count), known devices, finite times. Sorts the placements by (lane, node), the order
// the renderers index them by. The timing rules are validate()'s, not checked here.
Status check_placements(const Problem& problem, Plan& plan);

}  // namespace diviml
