#include "diviml/solve/tradeoff.hpp"

#include <memory>

#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"

namespace diviml {

Result<Tradeoff> latency_tradeoff(const Problem& pr, const SolveOptions& options, const std::vector<double>& factors,
                                  const SolveHooks& hooks) {
  SolveHooks latency_hooks = hooks;
  latency_hooks.objective = &latency_objective();
  SolveOptions latency_options = options;
  latency_options.max_latency_us = 0;
  Result<Plan> latency = solve("auto", pr, latency_options, latency_hooks);
  if (!latency) return latency.error();
  Tradeoff out;
  out.latency = std::move(*latency);
  SolveHooks stream = hooks;
  stream.objective = &throughput_objective();
  stream.warm_start = std::make_shared<const Mapping>(mapping_of(pr, out.latency));
  for (double factor : factors) {
    if (hooks.cancel && hooks.cancel->load()) break;
    TradeoffPoint point;
    point.factor = factor;
    point.max_latency_us = factor > 0 ? factor * out.latency.makespan_us : 0;
    SolveOptions o = options;
    o.max_latency_us = point.max_latency_us;
    Result<Plan> plan = solve("auto", pr, o, stream);
    if (plan)
      point.plan = std::move(*plan);
    else if (plan.error().kind == ErrorKind::kInfeasible)
      point.error = plan.error().message;
    else
      return plan.error();
    out.points.push_back(std::move(point));
  }
  return out;
}

}  // namespace diviml
