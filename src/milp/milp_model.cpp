#include <algorithm>

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

}  // namespace diviml
