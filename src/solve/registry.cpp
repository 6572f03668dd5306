// The solver registry: the one place that knows every solver by name (the CLI and `solve()`
// look solvers up here; solvers never do, they call each other directly).
#include "diviml/solve/solver.hpp"
#include "diviml/solvers/auto.hpp"
#include "diviml/solvers/balance.hpp"
#include "diviml/solvers/bnb.hpp"
#include "diviml/solvers/comm_greedy.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/m_crit.hpp"
#include "diviml/solvers/m_etf.hpp"
#include "diviml/solvers/m_sct.hpp"
#include "diviml/solvers/m_topo.hpp"
#include "diviml/solvers/metis.hpp"
#include "diviml/solvers/milp.hpp"
#include "diviml/solvers/replicas.hpp"
#include "diviml/solvers/split.hpp"
#include "diviml/solvers/stages.hpp"
#include "diviml/solvers/uniform.hpp"

namespace diviml {

Result<SolverOutput> shared_run(const Solver& solver, const Problem& pr, const SolveContext& ctx) {
  auto make = [&] { return solver.run(pr, ctx); };
  if (!ctx.cache) return make();
  return ctx.cache->get<Result<SolverOutput>>(pr, solver.name() + "/" + ctx.objective->name(), make);
}

std::vector<std::string> solver_names() {
  return {"auto",  "fastest", "heft",    "milp",     "split",  "bnb",     "m-topo", "m-etf",
          "m-sct", "m-crit",  "uniform", "replicas", "stages", "balance", "metis",  "comm-greedy"};
}

std::unique_ptr<Solver> make_solver(const std::string& name) {
  if (name == "auto") return std::make_unique<AutoSolver>();
  if (name == "fastest") return std::make_unique<FastestSolver>();
  if (name == "heft") return std::make_unique<HeftSolver>();
  if (name == "milp") return std::make_unique<MilpSolver>();
  if (name == "split") return std::make_unique<SplitSolver>();
  if (name == "bnb") return std::make_unique<BnbSolver>();
  if (name == "m-topo") return std::make_unique<MTopoSolver>();
  if (name == "m-etf") return std::make_unique<MEtfSolver>();
  if (name == "m-sct") return std::make_unique<MSctSolver>();
  if (name == "m-crit") return std::make_unique<MCritSolver>();
  if (name == "uniform") return std::make_unique<UniformSolver>();
  if (name == "replicas") return std::make_unique<ReplicasSolver>();
  if (name == "stages") return std::make_unique<StagesSolver>();
  if (name == "balance") return std::make_unique<BalanceSolver>();
  if (name == "metis") return std::make_unique<MetisSolver>();
  if (name == "comm-greedy") return std::make_unique<CommGreedySolver>();
  return nullptr;
}

}  // namespace diviml
