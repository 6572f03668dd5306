// How far the exact search proves a lower bound on a whole graph: the branch and bound told to
// seek only plans below a cutoff (bnb.hpp), for each cutoff given, with a time limit each. A
// complete search without a plan proves the optimum is at least the cutoff; one that finds a
// plan shows a plan below it exists. One line per cutoff on stdout.
//
//   build/bench/bnb_cutoff GRAPH SECONDS CUTOFF_US... [--platform NAME]
//
// docs/results.md ("Branchy graphs", what falls short) runs it on RWNN WS N32 S1 s1:
//   build/diviml gen rwnn --nodes 32 --stages 1 --seed 1 -o r.json
//   build/bench/bnb_cutoff r.json 20 250 270; build/bench/bnb_cutoff r.json 60 351.9
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "diviml/io/json_io.hpp"
#include "diviml/solvers/bnb.hpp"

using namespace diviml;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string platform = kDefaultPlatform;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--platform") {
      platform = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
      break;
    }
  if (args.size() < 3) {
    std::fprintf(stderr, "usage: bnb_cutoff GRAPH SECONDS CUTOFF_US... [--platform NAME]\n");
    return 2;
  }
  auto g = read_graph_file(args[0]);
  if (!g) return std::fprintf(stderr, "%s\n", g.error().message.c_str()), 1;
  auto pf = load_platform(platform);
  if (!pf) return std::fprintf(stderr, "%s\n", pf.error().message.c_str()), 1;
  auto pr = Problem::build(*g, *pf);
  if (!pr) return std::fprintf(stderr, "%s\n", pr.error().message.c_str()), 1;
  const double seconds = std::atof(args[1].c_str());
  for (size_t i = 2; i < args.size(); ++i) {
    const double cutoff = std::atof(args[i].c_str());
    const auto t0 = std::chrono::steady_clock::now();
    BnbResult r = branch_and_bound(*pr, nullptr, seconds, 1000000000000L, false, cutoff);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: cutoff %.1f us: %s, %ld partial schedules, %.1f s\n", args[0].c_str(), cutoff,
                r.complete ? (std::isfinite(r.makespan_us) ? "found a plan below it" : "proven: no plan below it")
                           : (std::isfinite(r.makespan_us) ? "stopped with a plan below it" : "stopped, no plan found"),
                r.expansions, s);
  }
}
