#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/objective/lower_bound.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solvers/baselines.hpp"
#include "diviml/solvers/fastest.hpp"
#include "diviml/solvers/heft.hpp"
#include "diviml/solvers/moves.hpp"
#include "diviml/solvers/split.hpp"
#include "support/fixtures.hpp"
#include "support/inline_problem.hpp"
#include "support/oracle.hpp"
#include "support/random_problem.hpp"
#include "support/tricky_problem.hpp"

using namespace diviml;
using namespace diviml::testing;

TEST(Split, EqualsTheFullMilpOptimumWhereBothProve) {
  Platform pf = platform();
  int compared = 0, compared_milp_only = 0;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    Graph g = seed % 2 ? module_chain(2, 2, seed) : random_dag(13, 0.15, seed);
    auto pr = Problem::build(g, pf);
    ASSERT_TRUE(pr);
    SolveOptions o;
    o.time_limit_s = 60;
    auto m = solve("milp", *pr, o);
    ASSERT_TRUE(m) << m.error().message;
    for (int cap : {1, 4, 12}) {
      o.module_size = cap;
      o.module_time_limit_s = 30;
      o.threads = 2;
      auto s = solve("split", *pr, o);
      ASSERT_TRUE(s) << s.error().message;
      EXPECT_TRUE(validate(*pr, *s));
      EXPECT_GE(s->makespan_us, m->makespan_us * (1 - 1e-9)) << "seed " << seed;
      EXPECT_LE(s->lower_bound_us, m->makespan_us * (1 + 1e-9)) << "seed " << seed;
      if (m->status == PlanStatus::kOptimal && s->status == PlanStatus::kOptimal) {
        EXPECT_NEAR(s->makespan_us, m->makespan_us, 1e-6 * m->makespan_us) << "seed " << seed << " cap " << cap;
        ++compared;
      }
      ASSERT_FALSE(s->modules.empty());
      if (cap == 4) {  // the same with pinned MILPs only (no branch and bound)
        SolveOptions milp_only = o;
        milp_only.module_bnb_expansions = 0;
        auto sm = solve("split", *pr, milp_only);
        ASSERT_TRUE(sm) << sm.error().message;
        if (m->status == PlanStatus::kOptimal && sm->status == PlanStatus::kOptimal) {
          EXPECT_NEAR(sm->makespan_us, m->makespan_us, 1e-6 * m->makespan_us) << "seed " << seed << " milp only";
          ++compared_milp_only;
        }
      }
    }
  }
  EXPECT_GE(compared, 18);
  EXPECT_GE(compared_milp_only, 6);
}

TEST(Split, ChainModulesNeedNoMilpAndAreExact) {
  // MobileNet-like: a chain with residual skips from block inputs only.
  Platform pf = platform();
  Graph g;
  g.name = "chain";
  for (int i = 0; i < 12; ++i) {
    Node v;
    v.id = "c" + std::to_string(i);
    v.op = i % 3 == 2 ? "add" : "conv";
    v.flops = 2e6 * (1 + i % 4);
    v.bytes_accessed = 4e5;
    v.output_bytes = 1e5 * (1 + i % 2);
    if (i == 0) v.input_bytes = 6e5;
    g.add_node(v);
  }
  for (int i = 0; i + 1 < 12; ++i) g.edges.push_back(Edge{i, i + 1, *g.nodes[i].output_bytes});
  for (int i = 0; i + 3 < 12; i += 3) g.edges.push_back(Edge{i, i + 2, *g.nodes[i].output_bytes});
  ASSERT_TRUE(g.finalize());
  auto pr = Problem::build(g, pf);
  ASSERT_TRUE(pr);
  SolveOptions o;
  o.module_size = 3;
  auto s = solve("split", *pr, o);
  auto m = solve("milp", *pr, o);
  ASSERT_TRUE(s && m);
  int chains = 0;
  for (const auto& mod : s->modules) chains += mod.chain;
  EXPECT_GT(chains, 0);
  EXPECT_EQ(m->status, PlanStatus::kOptimal);
  EXPECT_EQ(s->status, PlanStatus::kOptimal);
  EXPECT_NEAR(s->makespan_us, m->makespan_us, 1e-6 * m->makespan_us);
}

TEST(Split, IdenticalModulesAreSolvedOnce) {
  TransformerSpec spec;
  spec.layers = 6;
  auto g = transformer(spec);
  ASSERT_TRUE(g);
  auto pr = Problem::build(*g, platform());
  ASSERT_TRUE(pr);
  auto s = solve("split", *pr, {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_TRUE(validate(*pr, *s));
  // Every layer is the same module between the same split nodes: the note counts distinct ones.
  ASSERT_FALSE(s->notes.empty());
  const std::string& note = s->notes.front();
  auto at = note.find(" distinct,");
  ASSERT_NE(at, std::string::npos) << note;
  int distinct = std::stoi(note.substr(note.rfind(' ', at - 1) + 1));
  EXPECT_LT(distinct, static_cast<int>(s->modules.size())) << note;
}

TEST(Split, PlansAreValidOnRandomProblemsAndNeverWorseThanTheirBound) {
  for (std::uint64_t seed = 1; seed <= 12; ++seed) {
    diviml::testing::RandomSpec spec;
    spec.nodes = 8 + static_cast<int>(seed % 10);
    spec.edge_prob = 0.2;
    spec.forbid_prob = seed % 3 == 0 ? 0.3 : 0.0;
    Problem pr = diviml::testing::random_problem(seed, spec);
    SolveOptions o;
    o.module_size = 1 + static_cast<int>(seed % 5);
    auto s = solve("split", pr, o);
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_TRUE(validate(pr, *s));
    EXPECT_LE(s->lower_bound_us, s->makespan_us);
  }
}

TEST(Split, MemoryThatBindsFallsBackToAPlanThatFits) {
  diviml::testing::RandomSpec spec;
  spec.nodes = 10;
  spec.memory = true;
  int fallbacks = 0, restitched = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Problem pr = diviml::testing::random_problem(seed, spec);
    auto s = solve("split", pr, {});
    if (!s) continue;
    EXPECT_TRUE(validate(pr, *s)) << "seed " << seed;
    for (const auto& n : s->notes) {
      fallbacks += n.find("overflows a device's memory_bytes") != std::string::npos;
      restitched += n.find("refusing module solves that overflow a device, made it fit") != std::string::npos;
    }
  }
  // Memory bound somewhere, and the stitch within memory (or the baseline) answered it.
  EXPECT_GT(fallbacks + restitched, 0);
  std::printf("memory-bound stitches: %d kept a baseline, %d stitched again within memory\n", fallbacks, restitched);
}

TEST(Split, MultiChannelCutsGiveValidPlansAsGoodAsSolvingWhole) {
  Platform pf = platform();
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    Graph g = module_chain(4, 2, seed, 4);
    auto pr = Problem::build(g, pf);
    ASSERT_TRUE(pr);
    SolveOptions o;
    o.threads = 2;
    o.module_size = 8;
    o.exact_module_nodes = 12;  // the residual piece is too large to solve whole: cut it
    auto s = solve("split", *pr, o);
    o.max_channels = 0;
    auto whole = solve("split", *pr, o);
    auto fastest = solve("fastest", *pr, o);
    ASSERT_TRUE(s && whole && fastest) << (s ? "" : s.error().message);
    EXPECT_TRUE(validate(*pr, *s));
    EXPECT_LE(s->makespan_us, fastest->makespan_us * (1 + 1e-9)) << "seed " << seed;
    EXPECT_LE(s->makespan_us, whole->makespan_us * 1.01) << "seed " << seed;
    int cut = 0;
    for (const ModuleSummary& m : s->modules)
      if (m.segments > 1) {
        ++cut;
        EXPECT_GE(m.channels, 2);
        EXPECT_FALSE(m.proven);
      }
    EXPECT_EQ(cut, 1) << "seed " << seed << ": the residual piece is cut";
    EXPECT_NE(s->status, PlanStatus::kOptimal) << "a cut module proves nothing";
    for (const ModuleSummary& m : whole->modules) EXPECT_EQ(m.segments, 1);
    if (seed == 4 || seed == 5) {  // the full MILP proves these within seconds
      o.time_limit_s = 60;
      auto full = solve("milp", *pr, o);
      ASSERT_TRUE(full);
      ASSERT_EQ(full->status, PlanStatus::kOptimal);
      EXPECT_NEAR(s->makespan_us, full->makespan_us, 1e-6 * full->makespan_us) << "seed " << seed;
    }
  }
}

// --module-milp: where the branch and bound may not finish (one partial schedule per pinned
// solve), the pinned MILP is what proves the modules; without it split stays unproven.
TEST(Split, ThePinnedMilpProvesWhatAnUnfinishedSearchLeaves) {
  Platform pf = platform();
  int unproven_without = 0;
  for (std::uint64_t seed = 1; seed <= 4; ++seed) {
    Graph g = module_chain(2, 2, seed);
    auto pr = Problem::build(g, pf);
    ASSERT_TRUE(pr);
    SolveOptions o;
    o.time_limit_s = 60;
    auto full = solve("milp", *pr, o);
    ASSERT_TRUE(full) << full.error().message;
    o.module_bnb_expansions = 1;
    o.module_time_limit_s = 20;
    o.module_milp_s = 0;
    auto without = solve("split", *pr, o);
    o.module_milp_s = 20;
    auto with = solve("split", *pr, o);
    ASSERT_TRUE(without && with);
    EXPECT_TRUE(validate(*pr, *without));
    EXPECT_TRUE(validate(*pr, *with));
    unproven_without += without->status != PlanStatus::kOptimal;
    EXPECT_EQ(with->status, PlanStatus::kOptimal) << "seed " << seed;
    if (full->status == PlanStatus::kOptimal) {
      EXPECT_NEAR(with->makespan_us, full->makespan_us, 1e-6 * full->makespan_us) << "seed " << seed;
      EXPECT_LE(without->lower_bound_us, full->makespan_us * (1 + 1e-9)) << "seed " << seed;
    }
  }
  EXPECT_GE(unproven_without, 2);
}

namespace {

// The bound split's note says the tight bounds reached ("... from X to Y us ..."): Y > X.
bool tight_bounds_raised(const Plan& plan) {
  for (const std::string& note : plan.notes) {
    const auto at = note.find("took split's bound from ");
    if (at == std::string::npos) continue;
    double from = 0, to = 0;
    if (std::sscanf(note.c_str() + at, "took split's bound from %lf to %lf", &from, &to) == 2 && to > from) return true;
  }
  return false;
}

}  // namespace

TEST(Split, TightBoundsOnUnprovenPairsNeverPassTheOptimum) {
  // With the exact module solves crippled (one expansion, no MILP), the pairs stay unproven and
  // the energetic bound (Objective::tight_bound) raises split's bound. The bound must stay below
  // the optimum by exhaustive enumeration (tests/support/oracle.hpp).
  SolveOptions o;
  o.time_limit_s = 30;
  o.module_bnb_expansions = 1;
  o.module_milp_s = 0;
  o.polish_time_s = 0;
  int checked = 0, raised = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    std::optional<Problem> made =
        seed % 2 ? std::optional<Problem>(random_problem(seed, RandomSpec{6 + static_cast<int>(seed % 2), 3, 0.45,
                                                                          seed % 3 == 0 ? 0.3 : 0.0, true, false}))
                 : tricky_problem(seed);
    if (!made) continue;
    const Oracle oracle(*made);
    if (!std::isfinite(oracle.optimum())) continue;  // no plan exists (memory)
    const double opt = oracle.relaxed_optimum();     // the bound is of the weights-only relaxation
    auto plan = solve("split", *made, o);
    if (!plan) {  // live tensors (tricky instances) can defeat the crippled search; it says so
      EXPECT_NE(plan.error().message.find("no plan found within memory"), std::string::npos) << plan.error().message;
      continue;
    }
    ++checked;
    EXPECT_TRUE(validate(*made, *plan));
    EXPECT_LE(plan->lower_bound_us, opt * (1 + 1e-9) + 1e-9) << "seed " << seed;
    raised += tight_bounds_raised(*plan) ? 1 : 0;
  }
  std::printf("tight bounds: %d instances, raised split's bound on %d\n", checked, raised);
  EXPECT_GT(checked, 170);
  EXPECT_GT(raised, 10);
}
