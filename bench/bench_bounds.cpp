// The LP work bound two ways, side by side in one run: column generation over whole
// assignments (lp_work_bound_us, what DiviML uses) against the full n x K LP solved by CLP, on
// random DAGs of average degree 3 from 1k to 30k ops (cpu-2gpu) and GPT-3 175B per head
// (cluster-3srv), with and without the memory rows. Markdown table on stdout.
//
//   build/bench/bench_bounds [MAX_OPS (default 30000)]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/milp/milp.hpp"
#include "diviml/objective/lower_bound.hpp"

using namespace diviml;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The LP written out: a variable per (node, device), a row per node and per device (and per
// limited device for memory).
double full_lp(const Problem& pr, bool memory) {
  MilpModel m;
  const int t = m.add_var(0, kInf, 1.0, false, "t");
  const int k = pr.num_devices();
  std::vector<std::vector<std::pair<int, double>>> load(k), bytes(k);
  for (int i = 0; i < pr.num_nodes(); ++i) {
    std::vector<std::pair<int, double>> assign;
    for (int d = 0; d < k; ++d) {
      if (!pr.can_run(i, d)) continue;
      const int y = m.add_var(0, 1, 0, false);
      assign.push_back({y, 1.0});
      load[d].push_back({y, pr.cost_us(i, d)});
      if (pr.resident_bytes(i) > 0) bytes[d].push_back({y, pr.resident_bytes(i)});
    }
    m.add_row(std::move(assign), 1, 1);
  }
  for (auto& row : load) {
    row.push_back({t, -1.0});
    m.add_row(std::move(row), -kInf, 0);
  }
  for (int d = 0; d < k && memory; ++d)
    if (std::isfinite(pr.capacity_bytes(d)) && !bytes[d].empty())
      m.add_row(std::move(bytes[d]), -kInf, pr.capacity_bytes(d));
  MilpOptions opt;
  opt.relax = true;
  opt.time_limit_s = 600;
  auto r = make_cbc_backend()->solve(m, opt);
  return r && std::isfinite(r->objective) ? r->objective : NAN;
}

void row(const std::string& name, const Problem& pr, bool memory) {
  auto t0 = std::chrono::steady_clock::now();
  const double cg = lp_work_bound_us(pr, 60, memory);
  const double cg_s = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const double lp = full_lp(pr, memory);
  const double lp_s = seconds_since(t0);
  std::printf("| %s | %d | %s | %.1f | %.4f | %.1f | %.3f | %.2e | %.0fx |\n", name.c_str(), pr.num_nodes(),
              memory ? "yes" : "no", cg, cg_s, lp, lp_s, std::abs(cg - lp) / lp, lp_s / std::max(cg_s, 1e-6));
}

}  // namespace

int main(int argc, char** argv) {
  const int max_ops = argc > 1 ? std::atoi(argv[1]) : 30000;
  std::printf(
      "| graph | ops | memory rows | column generation us | its s | full LP us | its s | relative difference | "
      "speed-up |\n|---|---|---|---|---|---|---|---|---|\n");
  auto cpu2gpu = load_platform("cpu-2gpu");
  for (int n : {1000, 3000, 10000, 30000}) {
    if (n > max_ops) break;
    auto pr = Problem::build(random_dag(n, 3.0 / n, 1), *cpu2gpu);
    if (pr) row("random DAG", *pr, false);
  }
  TransformerSpec spec;
  spec.layers = 96, spec.d_model = 12288, spec.heads = 96, spec.seq = 2048, spec.split_heads = true;
  auto gpt3 = transformer(spec);
  auto cluster = load_platform("cluster-3srv");
  if (gpt3 && cluster) {
    auto pr = Problem::build(std::move(*gpt3), *cluster);
    if (pr) {
      row("GPT-3 per head", *pr, false);
      row("GPT-3 per head", *pr, true);
    }
  }
  return 0;
}
