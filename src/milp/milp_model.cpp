#include <algorithm>
#include <cmath>

#include "diviml/milp/milp.hpp"

namespace diviml {

int MilpModel::add_var(double lo, double hi, double cost, bool is_integer, std::string name) {
  lb.push_back(lo);
  ub.push_back(hi);
  obj.push_back(cost);
  integer.push_back(is_integer ? 1 : 0);
  if (name.empty()) {  // appended, not "c" + ...: GCC 12 warns falsely on that (PR105329)
    name.push_back('c');
    name += std::to_string(obj.size() - 1);
  }
  names.push_back(std::move(name));
  return num_vars() - 1;
}

void MilpModel::add_row(std::vector<std::pair<int, double>> terms, double lo, double hi) {
  // One entry per column, no zeros: CLP's presolve crashes on rows that name a column twice
  // (a zero-cost node's x_id appears in its completion term and its transfer term).
  std::sort(terms.begin(), terms.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<int, double>> merged;
  merged.reserve(terms.size());
  for (const auto& [column, value] : terms) {
    if (!merged.empty() && merged.back().first == column)
      merged.back().second += value;
    else
      merged.push_back({column, value});
  }
  std::erase_if(merged, [](const auto& t) { return t.second == 0.0; });
  rows.push_back(Row{std::move(merged), lo, hi});
}

namespace {

double lagrangian_bound_signed(const MilpModel& m, std::vector<double> y) {
  const int nv = m.num_vars(), nr = m.num_rows();
  for (int r = 0; r < nr; ++r) {
    const double lo = m.rows[r].lo, hi = m.rows[r].hi;
    if (!std::isfinite(y[r]) || (y[r] > 0 && !std::isfinite(lo)) || (y[r] < 0 && !std::isfinite(hi))) y[r] = 0;
  }
  std::vector<double> aty(nv, 0.0);  // A'y
  for (int r = 0; r < nr; ++r)
    if (y[r] != 0)
      for (const auto& [col, a] : m.rows[r].terms) aty[col] += a * y[r];
  // The largest scale s in [0, 1] that keeps every unbounded column's reduced cost c - s A'y
  // of the sign its bound needs (>= 0 without upper bound, <= 0 without lower bound).
  double s = 1.0;
  for (int j = 0; j < nv; ++j) {
    if (!std::isfinite(m.ub[j]) && aty[j] > 0) s = std::min(s, std::max(0.0, m.obj[j]) / aty[j]);
    if (!std::isfinite(m.lb[j]) && aty[j] < 0) s = std::min(s, std::max(0.0, -m.obj[j]) / -aty[j]);
  }
  double bound = 0;
  for (int j = 0; j < nv; ++j) {
    const double rc = m.obj[j] - s * aty[j];
    if (rc > 0) {
      if (!std::isfinite(m.lb[j])) return -kInf;
      bound += rc * m.lb[j];
    } else if (rc < 0) {
      if (!std::isfinite(m.ub[j])) return -kInf;
      bound += rc * m.ub[j];
    }
  }
  for (int r = 0; r < nr; ++r) {
    if (y[r] > 0) bound += s * y[r] * m.rows[r].lo;
    if (y[r] < 0) bound += s * y[r] * m.rows[r].hi;
  }
  return bound;
}

}  // namespace

double lagrangian_bound(const MilpModel& model, const std::vector<double>& row_prices) {
  if (static_cast<int>(row_prices.size()) != model.num_rows()) return -kInf;
  std::vector<double> negated(row_prices.size());
  for (size_t r = 0; r < row_prices.size(); ++r) negated[r] = -row_prices[r];
  return std::max(lagrangian_bound_signed(model, row_prices), lagrangian_bound_signed(model, negated));
}

}  // namespace diviml
