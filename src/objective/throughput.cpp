// The throughput objective: pipeline replay, its validator and the period's lower bounds.
#include "diviml/objective/throughput.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "diviml/objective/lower_bound.hpp"

namespace diviml {

namespace {

std::string num(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

// Host links: nodes that cannot run on the host must move their input over one of the host's
// outgoing links (their sinks' outputs over an incoming one), which work in parallel.
double host_link_bound_us(const Problem& pr) {
  const int n = pr.num_nodes(), k = pr.num_devices(), host = pr.platform().host;
  int out_links = 0, in_links = 0;
  for (int d = 0; d < k; ++d) {
    if (d == host) continue;
    out_links += std::isfinite(pr.platform().transfer_us(host, d, 0)) ? 1 : 0;
    in_links += std::isfinite(pr.platform().transfer_us(d, host, 0)) ? 1 : 0;
  }
  double in = 0, out = 0;
  for (int v = 0; v < n; ++v) {
    if (pr.can_run(v, host)) continue;
    double best_in = kInf, best_out = kInf;
    for (int d = 0; d < k; ++d)
      if (pr.can_run(v, d))
        best_in = std::min(best_in, pr.input_us(v, d)), best_out = std::min(best_out, pr.output_us(v, d));
    if (std::isfinite(best_in)) in += best_in;
    if (std::isfinite(best_out)) out += best_out;
  }
  return std::max(out_links > 0 ? in / out_links : 0.0, in_links > 0 ? out / in_links : 0.0);
}

class ThroughputObjective final : public Objective {
 public:
  std::string name() const override { return "throughput"; }
  Result<Plan> evaluate(const Problem& problem, const Mapping& mapping) const override {
    return pipeline_replay(problem, mapping);
  }
  double value(const Plan& plan) const override { return plan.period_us; }
  Status validate(const Problem& pr, const Plan& plan) const override {
    if (plan.objective != "throughput") return fail("the plan's objective is '" + plan.objective + "', not throughput");
    for (double x : {plan.period_us, plan.latency_us, plan.makespan_us, plan.lower_bound_us})
      if (!std::isfinite(x) || x < 0)
        return fail("period_us, latency_us, makespan_us and lower_bound_us must be finite and >= 0");
    Result<Mapping> m = pipeline_mapping_of(pr, plan);
    if (!m) return m.error();
    // Weights stay resident on every device that runs a node in any lane (once per device).
    const int n = pr.num_nodes(), k = pr.num_devices();
    const std::vector<double> mem = resident_bytes(pr, m->device);
    for (int d = 0; d < k; ++d)
      if (mem[d] > pr.capacity_bytes(d))
        return fail("device '" + pr.platform().devices[d].name + "': resident weights " + num(mem[d]) +
                    " bytes exceed memory_bytes " + num(pr.capacity_bytes(d)));
    // The period, latency and the recorded round are what the plan's own decision gives.
    Result<Plan> again = pipeline_replay(pr, *m);
    if (!again) return again.error();
    const double scale = std::max({1.0, again->period_us, again->latency_us});
    auto differs = [&](double a, double b) { return std::abs(a - b) > 1e-6 * scale; };
    if (differs(plan.period_us, again->period_us))
      return fail("period_us " + num(plan.period_us) + " differs from the plan's steady state " +
                  num(again->period_us));
    if (differs(plan.latency_us, again->latency_us) || differs(plan.makespan_us, again->latency_us))
      return fail("latency_us " + num(plan.latency_us) + " differs from the plan's steady state " +
                  num(again->latency_us));
    for (const Placement& p : plan.placements) {
      const Placement& q = again->placements[p.lane * n + p.node];
      if (differs(p.start_us, q.start_us) || differs(p.end_us, q.end_us))
        return fail("node '" + pr.graph().nodes[p.node].id + "' of lane " + std::to_string(p.lane) + ": times " +
                    num(p.start_us) + "-" + num(p.end_us) + " us differ from the steady state's " + num(q.start_us) +
                    "-" + num(q.end_us));
    }
    if (plan.lower_bound_us > plan.period_us * (1 + 1e-6) + 1e-9)
      return fail("lower_bound_us " + num(plan.lower_bound_us) + " exceeds period_us " + num(plan.period_us));
    if (plan.status == PlanStatus::kOptimal && !meets_bound(plan.period_us, plan.lower_bound_us))
      return fail("status 'optimal' but period_us " + num(plan.period_us) + " is above lower_bound_us " +
                  num(plan.lower_bound_us));
    return {};
  }
  double quick_bound(const Problem& pr) const override {
    return std::max(ascent_work_bound_us(pr), host_link_bound_us(pr));
  }
  double lower_bound(const Problem& pr, double lp_time_limit_s) const override {
    return period_lower_bound_us(pr, lp_time_limit_s);
  }
};

}  // namespace

std::vector<double> resident_bytes(const Problem& pr, const std::vector<int>& device) {
  const int n = pr.num_nodes();
  std::vector<double> mem(pr.num_devices(), 0.0);
  std::vector<char> held(static_cast<size_t>(pr.num_devices()) * n, 0);
  for (size_t t = 0; t < device.size(); ++t) {
    const int d = device[t], v = static_cast<int>(t % n);
    if (!held[static_cast<size_t>(d) * n + v]) held[static_cast<size_t>(d) * n + v] = 1, mem[d] += pr.param_bytes(v);
  }
  return mem;
}

double period_lower_bound_us(const Problem& pr, double lp_time_limit_s) {
  return std::max({ascent_work_bound_us(pr), lp_work_bound_us(pr, lp_time_limit_s), host_link_bound_us(pr)});
}

const Objective& throughput_objective() {
  static const ThroughputObjective throughput;
  return throughput;
}

}  // namespace diviml
