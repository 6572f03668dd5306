// The only file that includes COIN-OR headers. CBC 2.10 is driven through CbcMain0/CbcMain1
// (the full solver driver with default cuts and heuristics: much stronger than a bare
// branchAndBound on scheduling models) with a per-call CbcSolverUsefulData, so concurrent
// solves in different threads do not share state.
#include <chrono>
#include <cmath>
#include <coin/CbcModel.hpp>
#include <coin/CbcSolver.hpp>
#include <coin/CoinMessageHandler.hpp>
#include <coin/CoinPackedMatrix.hpp>
#include <coin/OsiClpSolverInterface.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "diviml/core/child_process.hpp"
#include "diviml/milp/milp.hpp"

namespace diviml {
namespace {

Result<MilpResult> solve_here(const MilpModel& m, const MilpOptions& opt);

}  // namespace

class CbcBackend : public MilpBackend {
 public:
  std::string name() const override { return "cbc"; }
  Result<MilpResult> solve(const MilpModel& m, const MilpOptions& opt) const override;
};

namespace {

void load(OsiClpSolverInterface& solver, const MilpModel& m, bool relax) {
  const int n = m.num_vars();
  // Row-ordered CSR in one go: appending rows one at a time regrows the matrix and is
  // quadratic on models with tens of thousands of rows.
  std::vector<CoinBigIndex> starts;
  std::vector<int> idx, len;
  std::vector<double> val, row_lo, row_hi;
  starts.reserve(m.rows.size() + 1);
  len.reserve(m.rows.size());
  row_lo.reserve(m.rows.size());
  row_hi.reserve(m.rows.size());
  for (const auto& r : m.rows) {
    starts.push_back(static_cast<CoinBigIndex>(idx.size()));
    len.push_back(static_cast<int>(r.terms.size()));
    for (auto [j, a] : r.terms) {
      idx.push_back(j);
      val.push_back(a);
    }
    row_lo.push_back(std::isfinite(r.lo) ? r.lo : -COIN_DBL_MAX);
    row_hi.push_back(std::isfinite(r.hi) ? r.hi : COIN_DBL_MAX);
  }
  starts.push_back(static_cast<CoinBigIndex>(idx.size()));
  CoinPackedMatrix matrix(false, n, static_cast<int>(m.rows.size()), static_cast<CoinBigIndex>(idx.size()), val.data(),
                          idx.data(), starts.data(), len.data());
  std::vector<double> lb(m.lb), ub(m.ub);
  for (double& x : lb)
    if (!std::isfinite(x)) x = -COIN_DBL_MAX;
  for (double& x : ub)
    if (!std::isfinite(x)) x = COIN_DBL_MAX;
  solver.loadProblem(matrix, lb.data(), ub.data(), m.obj.data(), row_lo.data(), row_hi.data());
  if (!relax) {
    std::vector<int> ints;
    for (int j = 0; j < n; ++j)
      if (m.integer[j]) ints.push_back(j);
    solver.setInteger(ints.data(), static_cast<int>(ints.size()));
  }
  // Names are what CBC matches a MIP start by; an LP needs none.
  if (!relax && !m.start.empty()) {
    std::vector<std::string> names(m.names);
    solver.setColNames(names, 0, n, 0);
  }
}

Result<MilpResult> solve_here(const MilpModel& m, const MilpOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  MilpResult res;
  OsiClpSolverInterface solver;
  solver.messageHandler()->setLogLevel(0);
  solver.getModelPtr()->messageHandler()->setLogLevel(0);
  load(solver, m, opt.relax);
  if (!opt.preprocess) {
    // CLP's own presolve is where the crashes were seen (ClpPresolve::gutsOfPresolvedModel).
    solver.setHintParam(OsiDoPresolveInInitial, false, OsiHintTry);
    solver.setHintParam(OsiDoPresolveInResolve, false, OsiHintTry);
  }
  if (opt.relax) {
    solver.getModelPtr()->setMaximumWallSeconds(std::max(0.001, opt.time_limit_s));
    solver.initialSolve();
    res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (solver.isProvenPrimalInfeasible()) {
      res.status = MilpResult::Status::kInfeasible;
      return res;
    }
    // Duals come back also when the limit stopped the simplex: callers that evaluate a bound
    // from them (weak duality) need no optimality.
    if (solver.getRowPrice()) res.row_duals.assign(solver.getRowPrice(), solver.getRowPrice() + m.num_rows());
    if (!solver.isProvenOptimal()) {
      res.status = MilpResult::Status::kNoSolution;
      return res;
    }
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
  // CBC checks its clock only between root passes and nodes and often overruns: it gets 85% of
  // what is left, so that it usually stops itself before the parent's backstop kills it.
  std::string seconds = std::to_string(std::max(0.01, 0.85 * opt.time_limit_s - setup));
  std::string seed = std::to_string(static_cast<int>(opt.seed % 2147483647) + 1);
  std::vector<std::string> args{
      "diviml",   "-log",  opt.verbose ? "1" : "0", "-timeMode", "elapsed",   "-seconds", seconds,
      "-threads", threads, "-randomCbcSeed",        seed,        "-ratioGap", "0",        "-allowableGap",
      "1e-7"};
  if (!opt.preprocess) args.insert(args.end(), {"-preprocess", "off", "-presolve", "off"});
  args.insert(args.end(), {"-solve", "-quit"});
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  CbcMain1(
      static_cast<int>(argv.size()), argv.data(), model, [](CbcModel*, int) { return 0; }, data);
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

// --- Isolation ----------------------------------------------------------------------------
// CBC 2.10 can crash inside its cut generators (a segfault in libCgl was seen here on a
// 200-op model) and can overrun its time limit in long root passes. Branch-and-bound runs in
// a forked child (run_in_child) that returns its result serialized: a crash becomes an error
// the caller can recover from (the solver falls back to its incumbent), and a child still
// running at the limit is killed.

std::string serialize(const Result<MilpResult>& r) {
  std::string out;
  auto put = [&](const void* p, size_t n) {
    if (n > 0) out.append(static_cast<const char*>(p), n);
  };
  std::int32_t ok = r ? 1 : 0;
  put(&ok, sizeof ok);
  if (!r) {
    std::uint64_t len = r.error().message.size();
    put(&len, sizeof len);
    out += r.error().message;
    return out;
  }
  std::int32_t status = static_cast<std::int32_t>(r->status);
  std::int64_t nodes = r->nodes, nx = static_cast<std::int64_t>(r->x.size());
  put(&status, sizeof status);
  put(&r->objective, sizeof(double));
  put(&r->best_bound, sizeof(double));
  put(&r->seconds, sizeof(double));
  put(&nodes, sizeof nodes);
  put(&nx, sizeof nx);
  put(r->x.data(), r->x.size() * sizeof(double));
  return out;
}

Result<MilpResult> deserialize(const std::string& in) {
  size_t at = 0;
  bool short_read = false;
  auto get = [&](void* p, size_t n) {
    if (at + n > in.size()) {
      short_read = true;
      return;
    }
    if (n == 0) return;  // p may be null (an empty vector's data()): memcpy must not see it
    std::memcpy(p, in.data() + at, n);
    at += n;
  };
  std::int32_t ok = 0;
  get(&ok, sizeof ok);
  if (short_read) return internal_error("cbc: the solver process returned no result");
  if (!ok) {
    std::uint64_t len = 0;
    get(&len, sizeof len);
    if (short_read || at + len > in.size()) return internal_error("cbc: the solver process returned a truncated error");
    return internal_error(in.substr(at, len));
  }
  MilpResult r;
  std::int32_t status = 0;
  std::int64_t nodes = 0, nx = 0;
  get(&status, sizeof status);
  get(&r.objective, sizeof(double));
  get(&r.best_bound, sizeof(double));
  get(&r.seconds, sizeof(double));
  get(&nodes, sizeof nodes);
  get(&nx, sizeof nx);
  if (short_read || nx < 0 || at + static_cast<size_t>(nx) * sizeof(double) != in.size())
    return internal_error("cbc: the solver process returned a truncated result");
  r.x.resize(static_cast<size_t>(nx));
  get(r.x.data(), r.x.size() * sizeof(double));
  r.status = static_cast<MilpResult::Status>(status);
  r.nodes = nodes;
  return r;
}

Result<MilpResult> solve_isolated(const MilpModel& m, const MilpOptions& opt) {
  // CBC stops itself before the limit; the kill at the limit is the backstop for a child that
  // does not (long root passes), so the caller keeps its deadline.
  ChildOutcome child = run_in_child([&] { return serialize(solve_here(m, opt)); }, opt.time_limit_s);
  if (child.kind == ChildOutcome::Kind::kNoChild) return solve_here(m, opt);  // run in process rather than fail
  if (child.kind != ChildOutcome::Kind::kDone)
    return internal_error("cbc: the solver process " + child.describe(opt.time_limit_s));
  return deserialize(child.output);
}

}  // namespace

Result<MilpResult> CbcBackend::solve(const MilpModel& m, const MilpOptions& opt) const {
  // LPs are quick and safe in CLP; branch-and-bound runs isolated unless asked not to.
  if (opt.relax || !opt.isolate) return solve_here(m, opt);
  return solve_isolated(m, opt);
}

std::unique_ptr<MilpBackend> make_cbc_backend() { return std::make_unique<CbcBackend>(); }

}  // namespace diviml
