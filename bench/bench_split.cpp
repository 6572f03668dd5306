// MILP-SPLIT against the full MILP and the baselines, side by side in one run, on randomly
// wired networks and the bundled models. Markdown table on stdout.
//
//   build/bench/bench_split [--milp-time-limit S] [--threads N] [--seeds N] [--models DIR]
//
// Per instance: fastest, heft, split (--threads, default module limits) and milp (one thread,
// the time limit) on the default platform; times are wall-clock of each solve() call.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/solve/solve.hpp"

using namespace diviml;

namespace {

double milp_limit = 20;
int threads = 2;

void row(const std::string& name, const Graph& graph, const Platform& platform) {
  auto pr = Problem::build(graph, platform);
  if (!pr) {
    std::printf("| %s | error: %s |\n", name.c_str(), pr.error().message.c_str());
    return;
  }
  SolveOptions base;
  base.threads = threads;
  auto f = solve("fastest", *pr, base);
  auto h = solve("heft", *pr, base);
  auto s = solve("split", *pr, base);
  SolveOptions whole = base;
  whole.max_channels = 0;
  auto w = solve("split", *pr, whole);
  SolveOptions mo;
  mo.time_limit_s = milp_limit;
  auto m = solve("milp", *pr, mo);
  if (!f || !h || !s || !w || !m) {
    std::printf("| %s | error: %s |\n", name.c_str(),
                (!f   ? f.error()
                 : !h ? h.error()
                 : !s ? s.error()
                 : !w ? w.error()
                      : m.error())
                    .message.c_str());
    return;
  }
  double lb = std::max(s->lower_bound_us, m->lower_bound_us);
  int cut = 0;
  for (const ModuleSummary& mod : s->modules) cut += mod.segments > 1;
  std::printf(
      "| %s | %d | %.1f | %.1f | %.1f | %s %.1f | %.3f | %d | %.1f | %.3f | %s %.1f | %.2f | %.1fx | %+.2f%% | "
      "%.2fx | %.2fx |\n",
      name.c_str(), pr->num_nodes(), lb, f->makespan_us, h->makespan_us, to_string(s->status), s->makespan_us,
      s->solve_time_s, cut, w->makespan_us, w->solve_time_s, to_string(m->status), m->makespan_us, m->solve_time_s,
      m->solve_time_s / std::max(1e-4, s->solve_time_s), 100 * (s->makespan_us / m->makespan_us - 1),
      h->makespan_us / s->makespan_us, f->makespan_us / s->makespan_us);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int seeds = 2;
  std::string models = DIVIML_MODELS_DIR;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--milp-time-limit")
      milp_limit = std::atof(argv[i + 1]);
    else if (a == "--threads")
      threads = std::atoi(argv[i + 1]);
    else if (a == "--seeds")
      seeds = std::atoi(argv[i + 1]);
    else if (a == "--models")
      models = argv[i + 1];
    else {
      std::fprintf(stderr, "bench_split: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  auto platform = load_platform(kDefaultPlatform);
  if (!platform) {
    std::fprintf(stderr, "bench_split: %s\n", platform.error().message.c_str());
    return 1;
  }
  std::printf("platform %s; split on %d threads; milp time limit %.0f s, 1 thread\n\n", platform->name.c_str(), threads,
              milp_limit);
  std::printf(
      "| instance | ops | bound us | fastest us | heft us | split us | split s | cut modules | split no-cut us | "
      "split no-cut s | milp us | milp s | milp s / split s | split vs milp | heft / split | fastest / split "
      "|\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (int stages : {1, 2, 4})
    for (int nodes : {8, 16, 32})
      for (int seed = 1; seed <= seeds; ++seed) {
        RwnnSpec s;
        s.nodes = nodes;
        s.stages = stages;
        s.seed = static_cast<std::uint64_t>(seed);
        auto g = rwnn(s);
        if (g)
          row("rwnn-ws N" + std::to_string(nodes) + " S" + std::to_string(stages) + " s" + std::to_string(seed), *g,
              *platform);
      }
  // Inception-like modules under residual edges that span `skip` modules (no split node inside).
  for (int skip : {2, 4})
    for (int seed = 1; seed <= seeds; ++seed)
      row("chain-8x3 skip" + std::to_string(skip) + " s" + std::to_string(seed), module_chain(8, 3, seed, skip),
          *platform);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(models))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto g = read_graph_file(f.string());
    if (g) row(f.stem().string(), *g, *platform);
  }
  return 0;
}
