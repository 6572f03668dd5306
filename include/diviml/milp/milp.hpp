// A small, solver-neutral MILP interface. Models are built here; a backend (CBC today, see
// make_cbc_backend) solves them. Only src/milp/ includes a solver's headers, so adding another
// solver means adding one backend file.
//
// @code
//   diviml::MilpModel m;
//   int x = m.add_var(0, 1, 1.0, true, "x");
//   int y = m.add_var(0, 10, 2.0, false, "y");
//   m.add_row({{x, 1.0}, {y, 1.0}}, 1.5, diviml::kInf);   // x + y >= 1.5
//   auto r = diviml::make_cbc_backend()->solve(m, {});     // minimises
// @endcode
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "diviml/core/result.hpp"
#include "diviml/platform/platform.hpp"  // kInf

namespace diviml {

struct MilpModel {
  struct Row {
    std::vector<std::pair<int, double>> terms;
    double lo, hi;  // -kInf / kInf for one-sided rows
  };
  std::vector<double> lb, ub, obj;
  std::vector<char> integer;
  std::vector<std::string> names;
  std::vector<Row> rows;
  std::vector<double> start;  // optional full MIP start (size = num_vars), empty = none

  int add_var(double lo, double hi, double cost, bool is_integer, std::string name = {});
  // Terms naming one column twice are summed; zero coefficients are dropped.
  void add_row(std::vector<std::pair<int, double>> terms, double lo, double hi);
  int num_vars() const { return static_cast<int>(obj.size()); }
  int num_rows() const { return static_cast<int>(rows.size()); }
};

struct MilpOptions {
  double time_limit_s = 60.0;  // wall clock
  int threads = 1;             // >1 runs the solver's deterministic parallel mode
  std::uint64_t seed = 0;
  bool verbose = false;  // let the solver print its log (to stdout)
  bool relax = false;    // solve the LP relaxation only (time_limit_s applies: wall clock)
  // Run branch-and-bound in a child process (CBC backend): a solver crash becomes an error
  // and a solver that overruns the limit by much is killed. Off only for debugging.
  bool isolate = true;
  // CBC's preprocessing (CglPreProcess). It has crashed, and declared feasible models
  // infeasible, on small scheduling models here; callers retry without it.
  bool preprocess = true;
};

struct MilpResult {
  enum class Status { kOptimal, kFeasible, kInfeasible, kNoSolution };
  Status status = Status::kNoSolution;
  std::vector<double> x;          // best solution found (empty when none)
  std::vector<double> row_duals;  // LP relaxation only: the row prices (may be inexact at a limit)
  double objective = kInf;        // of x
  double best_bound = -kInf;      // proven lower bound on the optimum (minimisation)
  double seconds = 0;
  long nodes = 0;
};

class MilpBackend {
 public:
  virtual ~MilpBackend() = default;
  virtual std::string name() const = 0;
  // Minimises. A time limit that stops the search returns kFeasible with the incumbent, or
  // kNoSolution; `best_bound` is valid in every status but kInfeasible.
  virtual Result<MilpResult> solve(const MilpModel& model, const MilpOptions& options) const = 0;
};

std::unique_ptr<MilpBackend> make_cbc_backend();

// A lower bound on the LP relaxation of `model` (so on its MILP too) from any row prices, by
// weak duality (Lagrangian relaxation of every row over the column bounds), evaluated here and
// not taken from a solver: min_x c'x - y'Ax over lb <= x <= ub, plus y_r lo_r (y_r > 0) or
// y_r hi_r (y_r < 0). Prices whose side is infinite are dropped; when an unbounded column's
// reduced cost has the wrong sign the prices are scaled down until it does not. Both signs of
// `row_prices` are tried (solvers differ in convention); -kInf when neither gives a bound.
double lagrangian_bound(const MilpModel& model, const std::vector<double>& row_prices);

}  // namespace diviml
