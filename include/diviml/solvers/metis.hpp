// `metis`: balanced minimum-cut partitioning with METIS (Karypis & Kumar), the partitioner most
// model-parallel systems start from. The units (colocation groups and single nodes,
// partition.hpp) form an undirected graph weighted by their work on the fastest device and by
// the bytes between them; METIS's k-way partition into one part per device, with target part
// weights in proportion to each device's speed (device_shares) and 3% imbalance, minimises the
// bytes cut. Then the repairs METIS users add themselves: units that cannot run on their part's
// device move to the fastest that can; the parts are made a DAG (make_acyclic: pipelines need
// one); devices whose weights overflow shed units. Timed as HEFT's list (latency) or a pipeline
// (throughput). A heuristic; proves nothing. src/solvers/metis.cpp is the only file that
// includes METIS.
#pragma once

#include "diviml/solve/solver.hpp"

namespace diviml {

class MetisSolver : public Solver {
 public:
  std::string name() const override { return "metis"; }
  std::string description() const override {
    return "METIS balanced min-cut (parts by device speed), made acyclic, list-scheduled";
  }
  bool supports(const Objective&) const override { return true; }
  Result<SolverOutput> run(const Problem& problem, const SolveContext& ctx) const override;
};

}  // namespace diviml
