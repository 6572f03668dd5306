// libFuzzer: a tiny problem decoded from the bytes (up to 6 ops, 3 devices: zero costs,
// forbidden devices, zero-byte and huge edges, host I/O, memory, missing links, colocation
// groups; by a hash of the input, an idle overlap_comm-false device, host inputs on most
// nodes, and devices spread over two or three servers whose copies share NICs) is planned by
// every solver and checked against the exhaustive Oracle: a valid plan exactly when one exists,
// no bound above the optimum, `optimal` only at the optimum, the exact solvers at it.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "../support/nic_loads.hpp"
#include "../support/oracle.hpp"
#include "../support/steady_memory.hpp"
#include "bytes.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"

namespace {

using diviml::fuzz::Bytes;

void check(bool ok, const char* what, const std::string& solver) {
  if (ok) return;
  std::fprintf(stderr, "oracle property violated by %s: %s\n", solver.c_str(), what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace diviml;
  Bytes b(data, size);
  // The second wave's features, from a hash of the whole input (the decoding below is unchanged):
  // an idle device whose copies occupy it (overlap_comm false; it runs nothing, so it may change
  // no plan), and host inputs on most nodes (weights read from the host).
  unsigned hash = static_cast<unsigned>(size);
  for (std::size_t i = 0; i < size; ++i) hash = hash * 31 + data[i];
  const bool idle = hash % 5 == 0, host_most = (hash / 5) % 4 == 0;
  const int servers = 1 + static_cast<int>((hash / 20) % 3);  // one, two or three servers
  const int n = 1 + static_cast<int>(b.next() % 5),
            k = 1 +
                static_cast<int>(
                    b.next() % 3);  // the oracle enumerates twice (memory over time and weights only): kept to 5 nodes
  Platform p;
  p.name = "fuzz";
  for (int d = 0; d < k; ++d) {
    Device dev;
    dev.name = "d" + std::to_string(d);
    dev.kind = "gpu";
    dev.server = "s" + std::to_string(d % servers);
    if (b.next() % 4 == 0) dev.memory_bytes = b.next();
    p.devices.push_back(dev);
  }
  if (idle) {
    Device dev;
    dev.name = "idle";
    dev.kind = "cpu";
    dev.server = "s0";
    dev.overlap_comm = false;
    p.devices.push_back(dev);
  }
  if (!p.finalize()) return 0;
  if (idle) p.set_link(0, k, Link{1, 1});
  if (b.next() % 2) p.set_default_link(Link{static_cast<double>(b.next() % 8), 0.5 + (b.next() % 8)});
  for (int a = 0; a < k; ++a)
    for (int c = 0; c < k; ++c)
      if (a != c && b.next() % 3 == 0)
        p.set_link(a, c, Link{static_cast<double>(b.next() % 8), 0.25 * (1 + b.next() % 8)}, true);
  Graph g;
  g.name = "fuzz";
  for (int i = 0; i < n; ++i) {
    Node v;
    v.id = "v" + std::to_string(i);
    for (int d = 0; d < k; ++d) {
      const unsigned c = b.next();
      if (c % 7 == 0)
        v.cost_us["d" + std::to_string(d)] = std::nullopt;
      else
        v.cost_us["d" + std::to_string(d)] = (c % 5 == 0) ? 0.0 : 0.5 * (c % 40);
    }
    v.param_bytes = b.next() % 4 == 0 ? b.next() % 64 : 0;
    v.output_bytes = b.next() % 3 == 0 ? 0.0 : 100.0 * b.next();
    v.input_bytes = b.next() % 4 == 0 ? 50.0 * b.next() : 0;
    if (b.next() % 3 == 0) v.colocate = "group" + std::to_string(b.next() % 2);  // one device per group
    if (idle) v.cost_us["idle"] = std::nullopt;
    if (host_most && (hash >> (i % 16)) % 5 != 0) v.input_bytes = 100.0 + 37.0 * ((hash >> i) % 64);
    g.add_node(v);
  }
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j)
      if (b.next() % 3 == 0) {
        const unsigned c = b.next();
        g.edges.push_back(Edge{i, j, c % 9 == 0 ? 1e12 : 40.0 * (c % 50)});
      }
  if (!g.finalize()) return 0;
  auto built = Problem::build(g, p);
  if (!built) return 0;
  const Problem& pr = *built;
  // DIVIML_FUZZ_DUMP=1 prints the decoded instance, to replay a finding with the CLI.
  if (std::getenv("DIVIML_FUZZ_DUMP"))
    std::fprintf(stderr, "%s\n%s\n", graph_to_json(pr.graph()).c_str(), platform_to_json(pr.platform()).c_str());
  // Memory over time: opt is the optimum of plans that fit it; relaxed that of weights only,
  // which every bound (a relaxation's) stays below.
  const double opt = testing::Oracle(pr).optimum(), relaxed = testing::Oracle(pr).relaxed_optimum();
  const double tol = 1e-6 * std::max(1.0, opt);
  SolveOptions options;
  options.time_limit_s = 2;  // tiny instances: the exact solvers finish in milliseconds
  for (const std::string& name : solver_names()) {
    if (!make_solver(name)->supports(latency_objective())) continue;
    auto plan = solve(name, pr, options);
    if (!std::isfinite(opt)) {
      check(!plan, "a plan for an instance that has none", name);
      continue;
    }
    if (!plan) {
      // fastest (one device) and uniform (the hand pipeline) may have none by definition.
      check(name == "fastest" || plan.error().message.rfind("uniform: ", 0) == 0,
            ("no plan: " + plan.error().message).c_str(), name);
      continue;
    }
    check(testing::Oracle(pr).check(*plan).empty(), "the oracle's checker rejects the plan", name);
    check(static_cast<bool>(validate(pr, *plan)), "the validator rejects the plan", name);
    check(plan->lower_bound_us <= relaxed + 1e-9 * std::max(1.0, relaxed), "lower bound above the optimum", name);
    check(plan->makespan_us >= opt - tol, "makespan below the optimum", name);
    if (plan->status == PlanStatus::kOptimal) check(plan->makespan_us <= opt + tol, "optimal above the optimum", name);
    bool repaired = false;  // solved again for memory over time: feasible, not exact
    for (const std::string& note : plan->notes) repaired |= note.find("live tensors overflowed") != std::string::npos;
    if ((name == "milp" || name == "bnb") && !repaired)
      check(plan->makespan_us <= opt + tol, "exact solver misses the optimum", name);
  }
  // The throughput objective on the same instance: every plan validates, its bound stays
  // below its period, its steady state fits memory; only "no plan" may stop a solver.
  SolveHooks hooks;
  hooks.objective = &throughput_objective();
  for (const std::string& name : solver_names()) {
    if (!make_solver(name)->supports(throughput_objective())) continue;
    auto plan = solve(name, pr, options, hooks);
    if (!plan) {
      check(plan.error().kind == ErrorKind::kInfeasible, ("no plan: " + plan.error().message).c_str(), name);
      continue;
    }
    check(static_cast<bool>(throughput_objective().validate(pr, *plan)), "throughput validator rejects the plan", name);
    check(plan->lower_bound_us <= plan->period_us * (1 + 1e-9) + 1e-9, "period bound above the period", name);
    check(plan->period_us >= testing::nic_period_floor_us(pr, *plan) * (1 - 1e-9),
          "period below the busiest NIC share's copies", name);
    // Memory in the steady state, by the independent sweep of the definition.
    const std::vector<double> peak = testing::brute_force_peaks(pr, *plan);
    for (int d = 0; d < pr.num_devices(); ++d)
      check(peak[d] <= pr.capacity_bytes(d) * (1 + 1e-9) + 1e-9, "the steady state overflows a device", name);
  }
  return 0;
}
