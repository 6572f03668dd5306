#include "diviml/solvers/uniform.hpp"

#include <cmath>

#include "diviml/objective/memory.hpp"
#include "diviml/objective/replay.hpp"

namespace diviml {

Result<SolverOutput> UniformSolver::run(const Problem& pr, const SolveContext&) const {
  const Graph& g = pr.graph();
  const Platform& pf = pr.platform();
  const int n = pr.num_nodes();
  std::vector<int> stages;
  for (int d = 0; d < pr.num_devices(); ++d)
    if (pf.devices[d].kind.rfind("cpu", 0) != 0) stages.push_back(d);
  if (stages.empty())
    for (int d = 0; d < pr.num_devices(); ++d) stages.push_back(d);
  const std::vector<int>& topo = g.topo_order();
  double total = 0;
  for (int v = 0; v < n; ++v) total += pr.resident_bytes(v);
  const int s_count = static_cast<int>(stages.size());
  std::vector<int> device(n, -1);
  std::vector<double> held(s_count, 0.0);
  double before = 0;  // resident bytes of the nodes before this one in the order
  for (int i = 0; i < n; ++i) {
    const int v = topo[i];
    // The stage whose share holds the middle of this node's bytes (nodes without weights stay
    // with the stage of the bytes before them).
    const double mid = before + 0.5 * pr.resident_bytes(v);
    int s = total > 0 ? static_cast<int>(std::floor(mid / total * s_count)) : i * s_count / n;
    s = std::min(std::max(s, 0), s_count - 1);
    before += pr.resident_bytes(v);
    const int d = stages[s];
    if (!pr.can_run(v, d))
      return infeasible("uniform: node '" + g.nodes[v].id + "' falls in the stage of '" + pf.devices[d].name +
                        "', which cannot run it");
    device[v] = d;
    held[s] += pr.resident_bytes(v);
  }
  for (int s = 0; s < s_count; ++s)
    if (held[s] > pr.capacity_bytes(stages[s]))
      return infeasible("uniform: the stage of '" + pf.devices[stages[s]].name + "' holds " + bytes_text(held[s]) +
                        " of weights and state, more than its " + bytes_text(pr.capacity_bytes(stages[s])));
  for (int v = 0; v < n; ++v) {
    const std::string where = "uniform: node '" + g.nodes[v].id + "' on '" + pf.devices[device[v]].name + "'";
    if (!std::isfinite(pr.input_us(v, device[v]))) return infeasible(where + " cannot receive its input from the host");
    if (!std::isfinite(pr.output_us(v, device[v]))) return infeasible(where + " cannot return its output to the host");
  }
  for (int e = 0; e < g.num_edges(); ++e) {
    const int a = device[g.edges[e].src], b = device[g.edges[e].dst];
    if (!std::isfinite(pr.comm_us(e, a, b)))
      return infeasible("uniform: edge " + g.nodes[g.edges[e].src].id + " -> " + g.nodes[g.edges[e].dst].id +
                        " crosses from '" + pf.devices[a].name + "' to '" + pf.devices[b].name +
                        "', which have no link");
  }
  SolverOutput out;
  out.mapping = mapping_from_priority(pr, device, topo);
  out.notes.push_back("uniform: " + std::to_string(s_count) + " stages of " + bytes_text(total / s_count) +
                      " of weights and state each");
  return out;
}

}  // namespace diviml
