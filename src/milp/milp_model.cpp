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
  rows.push_back(Row{std::move(terms), lo, hi});
}

}  // namespace diviml
