#include "diviml/cost/symmetry.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

namespace diviml {

namespace {

bool same_link(const std::optional<Link>& x, const std::optional<Link>& y) {
  if (!x || !y) return !x && !y;
  return x->latency_us == y->latency_us && x->bandwidth_gbps == y->bandwidth_gbps;
}

bool same(double x, double y) { return x == y || (std::isinf(x) && std::isinf(y) && (x > 0) == (y > 0)); }

// Whether swapping devices a and b maps the problem onto itself.
bool swappable(const Problem& pr, int a, int b) {
  const Platform& pf = pr.platform();
  const int n = pr.num_nodes(), k = pr.num_devices();
  if (pr.capacity_bytes(a) != pr.capacity_bytes(b)) return false;
  if (pf.devices[a].overlap_comm != pf.devices[b].overlap_comm) return false;
  if (!same_link(pf.link(a, b), pf.link(b, a))) return false;
  for (int c = 0; c < k; ++c) {
    if (c == a || c == b) continue;
    if (!same_link(pf.link(a, c), pf.link(b, c)) || !same_link(pf.link(c, a), pf.link(c, b))) return false;
    // Copies between servers share each end's NIC: a and b must cross to the same devices.
    if (pf.crosses_servers(a, c) != pf.crosses_servers(b, c)) return false;
  }
  for (int v = 0; v < n; ++v)
    if (!same(pr.cost_us(v, a), pr.cost_us(v, b)) || !same(pr.input_us(v, a), pr.input_us(v, b)) ||
        !same(pr.output_us(v, a), pr.output_us(v, b)))
      return false;
  return true;
}

}  // namespace

std::vector<int> device_classes(const Problem& pr) {
  const int k = pr.num_devices();
  std::vector<int> cls(k);
  for (int d = 0; d < k; ++d) {
    cls[d] = d;
    for (int r = 0; r < d; ++r)
      if (cls[r] == r && swappable(pr, r, d)) {
        cls[d] = r;
        break;
      }
  }
  return cls;
}

std::vector<std::vector<int>> identical_groups(const Problem& pr) {
  const std::vector<int> cls = device_classes(pr);
  std::vector<std::vector<int>> groups;
  for (int r = 0; r < static_cast<int>(cls.size()); ++r) {
    if (cls[r] != r) continue;
    std::vector<int> g;
    for (int d = r; d < static_cast<int>(cls.size()); ++d)
      if (cls[d] == r) g.push_back(d);
    if (g.size() > 1) groups.push_back(std::move(g));
  }
  return groups;
}

std::vector<int> canonical_permutation(const Problem& pr, const std::vector<int>& device, SymmetryRule rule) {
  const int k = pr.num_devices(), n = pr.num_nodes();
  std::vector<int> perm(k);
  for (int d = 0; d < k; ++d) perm[d] = d;
  if (rule == SymmetryRule::kNone) return perm;
  // Per device: (ops, busy, first topological position).
  std::vector<double> ops(k, 0.0), busy(k, 0.0), first(k, kInf);
  const std::vector<int>& topo = pr.graph().topo_order();
  for (int t = 0; t < n; ++t) {
    const int v = topo[t], d = device[v];
    ops[d] += 1, busy[d] += pr.cost_us(v, d), first[d] = std::min(first[d], static_cast<double>(t));
  }
  for (const std::vector<int>& group : identical_groups(pr)) {
    std::vector<int> by = group;
    std::stable_sort(by.begin(), by.end(), [&](int a, int b) {
      switch (rule) {
        case SymmetryRule::kInputs:
          return first[a] < first[b];
        case SymmetryRule::kOps:
          return ops[a] > ops[b];
        default:
          return busy[a] > busy[b];
      }
    });
    for (size_t j = 0; j < group.size(); ++j) perm[by[j]] = group[j];
  }
  return perm;
}

}  // namespace diviml
