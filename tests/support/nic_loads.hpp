// The busiest way out of or into a server over one steady-state round of a throughput plan, by
// the definition (docs/cost-model.md, "Links between servers"): every copy the plan records
// between devices of different servers (tensor moves and host transfers alike) occupies its
// sender's way out and its receiver's way in for its whole duration. Written from the plan's
// recorded copies and the devices' server names, not from the replay's code: no period of R
// lanes is below the busiest total over R.
#pragma once

#include <algorithm>
#include <vector>

#include "diviml/cost/problem.hpp"
#include "diviml/objective/plan.hpp"

namespace diviml::testing {

inline double nic_period_floor_us(const Problem& pr, const Plan& plan) {
  const auto& devs = pr.platform().devices;
  const int k = pr.num_devices();
  if (!pr.platform().shared_server_links) return 0.0;
  std::vector<double> out(k, 0.0), in(k, 0.0);
  auto add = [&](int a, int b, double s, double e) {
    if (devs[a].server == devs[b].server) return;
    out[a] += e - s;
    in[b] += e - s;
  };
  for (const Transfer& t : plan.transfers) add(t.from, t.to, t.start_us, t.end_us);
  for (const HostTransfer& h : plan.host_transfers) add(h.from, h.to, h.start_us, h.end_us);
  double most = 0;
  for (int d = 0; d < k; ++d) most = std::max({most, out[d], in[d]});
  return most / std::max(1, plan.lanes);
}

}  // namespace diviml::testing
