// The only file that includes COIN-OR headers. CBC 2.10 is driven through CbcMain0/CbcMain1
// (the full solver driver with default cuts and heuristics: much stronger than a bare
// branchAndBound on scheduling models) with a per-call CbcSolverUsefulData, so concurrent
// solves in different threads do not share state.
#include <coin/CbcModel.hpp>
#include <coin/CbcSolver.hpp>
#include <coin/CoinMessageHandler.hpp>
#include <coin/CoinPackedMatrix.hpp>
#include <coin/OsiClpSolverInterface.hpp>

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "diviml/milp/milp.hpp"

namespace diviml {
namespace {

class CbcBackend : public MilpBackend {
 public:
  std::string name() const override { return "cbc"; }
  Result<MilpResult> solve(const MilpModel& m, const MilpOptions& opt) const override;
};

void load(OsiClpSolverInterface& solver, const MilpModel& m, bool relax) {
  const int n = m.num_vars();
  CoinPackedMatrix matrix(false, 0, 0);
  matrix.setDimensions(0, n);
  std::vector<double> row_lo, row_hi;
  row_lo.reserve(m.rows.size());
  row_hi.reserve(m.rows.size());
  std::vector<int> idx;
  std::vector<double> val;
  for (const auto& r : m.rows) {
    idx.clear();
    val.clear();
    for (auto [j, a] : r.terms) {
      idx.push_back(j);
      val.push_back(a);
    }
    matrix.appendRow(static_cast<int>(idx.size()), idx.data(), val.data());
    row_lo.push_back(std::isfinite(r.lo) ? r.lo : -COIN_DBL_MAX);
    row_hi.push_back(std::isfinite(r.hi) ? r.hi : COIN_DBL_MAX);
  }
  std::vector<double> lb(m.lb), ub(m.ub);
  for (double& x : lb)
    if (!std::isfinite(x)) x = -COIN_DBL_MAX;
  for (double& x : ub)
    if (!std::isfinite(x)) x = COIN_DBL_MAX;
  solver.loadProblem(matrix, lb.data(), ub.data(), m.obj.data(), row_lo.data(), row_hi.data());
  for (int j = 0; j < n; ++j) {
    if (m.integer[j] && !relax) solver.setInteger(j);
    solver.setColName(j, m.names[j]);
  }
}

Result<MilpResult> CbcBackend::solve(const MilpModel& m, const MilpOptions& opt) const {
  auto t0 = std::chrono::steady_clock::now();
  MilpResult res;
  OsiClpSolverInterface solver;
  solver.messageHandler()->setLogLevel(0);
  solver.getModelPtr()->messageHandler()->setLogLevel(0);
  load(solver, m, opt.relax);
  if (opt.relax) {
    solver.initialSolve();
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (solver.isProvenPrimalInfeasible()) {
      res.status = MilpResult::Status::kInfeasible;
      return res;
    }
    if (!solver.isProvenOptimal()) return fail("cbc: the LP relaxation did not solve to optimality");
    res.status = MilpResult::Status::kOptimal;
    res.objective = res.best_bound = solver.getObjValue();
    res.x.assign(solver.getColSolution(), solver.getColSolution() + m.num_vars());
    return res;
  }
  CbcModel model(solver);
  CbcSolverUsefulData data;
  data.noPrinting_ = !opt.verbose;
  data.useSignalHandler_ = false;
  CbcMain0(model, data);
  if (!opt.verbose) {
    model.messageHandler()->setLogLevel(0);
    model.solver()->messageHandler()->setLogLevel(0);
  }
  if (!m.start.empty()) {
    std::vector<std::pair<std::string, double>> start;
    start.reserve(m.start.size());
    for (int j = 0; j < m.num_vars(); ++j) start.emplace_back(m.names[j], m.start[j]);
    model.setMIPStart(start);
  }
  // Threads > 1 use CBC's deterministic parallel mode (100 + n) so runs repeat exactly.
  std::string threads = std::to_string(opt.threads > 1 ? 100 + opt.threads : 0);
  // The limit covers this whole call: what loading and CbcMain0 took comes off CBC's share.
  double setup = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string seconds = std::to_string(std::max(0.01, opt.time_limit_s - setup));
  std::string seed = std::to_string(static_cast<int>(opt.seed % 2147483647) + 1);
  std::vector<std::string> args{"diviml", "-log", opt.verbose ? "1" : "0", "-timeMode", "elapsed",
                                "-seconds", seconds, "-threads", threads, "-randomCbcSeed", seed,
                                "-ratioGap", "0", "-allowableGap", "1e-7", "-solve", "-quit"};
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  CbcMain1(static_cast<int>(argv.size()), argv.data(), model, [](CbcModel*, int) { return 0; }, data);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.nodes = model.getNodeCount();
  const double* best = model.bestSolution();
  if (best) {
    res.x.assign(best, best + m.num_vars());
    res.objective = model.getObjValue();
  }
  res.best_bound = model.getBestPossibleObjValue();
  if (model.isProvenInfeasible() && !best) {
    res.status = MilpResult::Status::kInfeasible;
  } else if (model.isProvenOptimal() && best) {
    res.status = MilpResult::Status::kOptimal;
    res.best_bound = std::min(res.objective, std::max(res.best_bound, res.objective - 1e-7));
  } else if (best) {
    res.status = MilpResult::Status::kFeasible;
  } else {
    res.status = MilpResult::Status::kNoSolution;
  }
  if (!std::isfinite(res.best_bound) || res.best_bound > 1e40) res.best_bound = -kInf;
  return res;
}

}  // namespace

std::unique_ptr<MilpBackend> make_cbc_backend() { return std::make_unique<CbcBackend>(); }

}  // namespace diviml
