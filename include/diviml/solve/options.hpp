// Every tunable of a solve, declared once (like HiGHS's option registry): the SolveOptions
// fields hold the values, `option_registry()` gives each its command-line name, default, range
// and help line. The CLI builds its flags from the registry, `diviml options` prints it, and
// `check_options()` enforces the ranges for every caller of the library, not only the CLI.
//
// @code
//   diviml::SolveOptions opt;
//   if (diviml::Status s = diviml::set_option(opt, "module-size", "16"); !s) { /* usage error */ }
//   if (diviml::Status s = diviml::check_options(opt); !s) { /* usage error naming the option */ }
// @endcode
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "diviml/core/result.hpp"

namespace diviml {

// Values of the registered options. Defaults here are the documented ones (docs/options.md is
// generated from the registry and checked against it by a test).
struct SolveOptions {
  double time_limit_s = 60.0;  // wall-clock limit of the whole solve (bounds, search, replay)
  int threads = 1;
  std::uint64_t seed = 0;
  bool verbose = false;       // CBC's log on stderr (not a registered option: a CLI flag)
  double max_latency_us = 0;  // an SLO on one input's latency (makespan), 0: none
  // split
  int module_size = 12;                  // most nodes inside one merged module
  double module_time_limit_s = 0.5;      // most seconds for one pinned module solve
  int max_channels = 3;                  // most tensors crossing a multi-channel cut (0: no cuts)
  long module_bnb_expansions = 1000000;  // branch-and-bound budget per pinned solve (0: MILP only)
  double module_milp_s = 0.1;            // the MILP after an unfinished pinned search (0: none)
  int exact_module_nodes = 20;           // larger pinned problems are fused before the exact solve
  double polish_time_s = 0.5;            // most seconds of local search (split, milp's start)
  double cut_slack = 0.02;               // a cut may cost this share of the module's longest path
  double fused_slack = 0.05;             // heuristic modules: exact solves only this near the best
  // auto
  long auto_milp_pairs = 400;      // auto runs the MILP up to this many unordered node pairs
  double auto_milp_time_s = 10.0;  // and gives it at most this many seconds
  int auto_milp_max_nodes = 2000;  // never counts pairs (n^2 closure) above this many nodes
  // bounds
  double bound_lp_time_s = 10.0;  // most seconds for the LP work bound (and 10% of the limit)
  // bnb
  long bnb_expansions = 0;  // `--solver bnb`: partial-schedule budget (0: until the time limit)
  // symmetry between identical devices (cost/symmetry.hpp): 0 none, 1 inputs, 2 ops, 3 busy
  int symmetry = 1;
};

// One registered option. `field` points at its SolveOptions member.
struct OptionInfo {
  using Field =
      std::variant<double SolveOptions::*, int SolveOptions::*, long SolveOptions::*, std::uint64_t SolveOptions::*>;
  std::string name;   // command-line name without the dashes, e.g. "time-limit"
  std::string group;  // "solve", "split", "auto", "bounds", "bnb"
  Field field;
  double min = 0, max = 0;  // inclusive range (whole numbers for integer fields)
  std::string help;         // one line, units included
  // Named values of an integer option (its value is the index): set and printed by name.
  std::vector<std::string> choices = {};
};

const std::vector<OptionInfo>& option_registry();
// nullptr when no option has that name.
const OptionInfo* find_option(const std::string& name);

// The option's current value in `options`, as text (the default when `options` is default).
std::string option_value_text(const SolveOptions& options, const OptionInfo& info);
// Parses `text` into the named option (whole numbers for integer options, finite numbers for
// real ones) and checks its range. Otherwise a usage error "--NAME: 'TEXT' is ...".
Status set_option(SolveOptions& options, const std::string& name, const std::string& text);
// Every registered option within its range; the first one that is not, as a usage error.
Status check_options(const SolveOptions& options);
// The registry as a Markdown table (docs/options.md).
std::string options_markdown();

}  // namespace diviml
