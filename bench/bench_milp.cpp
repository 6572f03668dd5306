// MILP solve time and optimality gap against graph size, side by side with the baselines, on
// the bundled default platform. Writes a Markdown table to stdout.
//
//   build/bench/bench_milp [--time-limit S] [--sizes 10,20,...] [--modules 2,4,...] [--seeds N]
//
// Each row is one instance: `milp` runs with the time limit and one thread; `heft` and
// `fastest` are run in the same process right before it. gap = (makespan - bound) / makespan
// with the bound the best of the static bounds and CBC's.
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/milp/latency_milp.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/milp.hpp"

using namespace diviml;

namespace {

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

void row(const std::string& kind, const Graph& graph, const Platform& platform, double limit) {
  auto pr = Problem::build(graph, platform);
  if (!pr) {
    std::printf("| %s | error: %s |\n", kind.c_str(), pr.error().message.c_str());
    return;
  }
  SolveOptions opt;
  opt.time_limit_s = limit;
  auto f = solve("fastest", *pr, opt);
  auto h = solve("heft", *pr, opt);
  auto m = solve("milp", *pr, opt);
  LatencyMilp model = build_latency_milp(*pr, nullptr);
  if (!f || !h || !m) {
    std::printf("| %s | %d | error: %s |\n", kind.c_str(), pr->num_nodes(),
                (!f   ? f.error()
                 : !h ? h.error()
                      : m.error())
                    .message.c_str());
    return;
  }
  std::printf("| %s | %d | %d | %zu | %d | %s | %.2f | %.1f | %.1f | %.1f%% | %.1f | %.1f | %.3f |\n", kind.c_str(),
              pr->num_nodes(), pr->graph().num_edges(), model.order.size(), model.model.num_rows(),
              to_string(m->status), m->solve_time_s, m->makespan_us, m->lower_bound_us, 100 * m->gap(), h->makespan_us,
              f->makespan_us, h->makespan_us / m->makespan_us);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  double limit = 10;
  std::vector<int> sizes{10, 20, 30, 50, 100, 200}, modules{2, 4, 8, 16};
  int seeds = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--time-limit")
      limit = std::atof(argv[i + 1]);
    else if (a == "--sizes")
      sizes = parse_list(argv[i + 1]);
    else if (a == "--modules")
      modules = parse_list(argv[i + 1]);
    else if (a == "--seeds")
      seeds = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "bench_milp: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  auto platform = load_platform(kDefaultPlatform);
  if (!platform) {
    std::fprintf(stderr, "bench_milp: %s\n", platform.error().message.c_str());
    return 1;
  }
  std::printf("platform %s, milp time limit %.0f s, 1 thread\n\n", platform->name.c_str(), limit);
  std::printf(
      "| instance | ops | edges | order pairs | rows | milp status | milp s | milp us | bound us | gap | heft us "
      "| fastest us | heft/milp |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int seed = 1; seed <= seeds; ++seed) {
    for (int n : sizes)
      row("random-" + std::to_string(n) + " s" + std::to_string(seed), random_dag(n, 0.08, seed), *platform, limit);
    for (int q : modules)
      row("chain-" + std::to_string(q) + "x3 s" + std::to_string(seed), module_chain(q, 3, seed), *platform, limit);
  }
  return 0;
}
