#include "diviml/solve/options.hpp"

#include <cmath>
#include <cstdio>
#include <limits>

namespace diviml {

namespace {

constexpr double kMaxSeconds = 1e6;  // beyond this a time limit is a typo (README)
constexpr double kMaxThreads = 1024;
constexpr double kMaxSeed = 9223372036854775807.0;  // 2^63 - 1

std::vector<OptionInfo> make_registry() {
  using S = SolveOptions;
  return {
      {"time-limit", "solve", &S::time_limit_s, 1e-3, kMaxSeconds,
       "wall-clock limit of the whole solve in seconds (compare: per solver)"},
      {"threads", "solve", &S::threads, 1, kMaxThreads, "solver threads (split's pinned solves, CBC)"},
      {"seed", "solve", &S::seed, 0, kMaxSeed, "random seed (CBC)"},
      {"max-latency-us", "solve", &S::max_latency_us, 0, 1e18,
       "most microseconds one input may take (latency objective: the makespan; throughput: latency_us at the "
       "period); 0: no limit"},
      {"module-size", "split", &S::module_size, 1, 1e6, "most nodes inside one merged module"},
      {"module-time-limit", "split", &S::module_time_limit_s, 1e-3, kMaxSeconds,
       "most seconds for one pinned module solve"},
      {"max-channels", "split", &S::max_channels, 0, 8,
       "most tensors crossing a multi-channel cut inside a large module (0: no cuts)"},
      {"module-bnb", "split", &S::module_bnb_expansions, 0, 1e9,
       "branch-and-bound budget (partial schedules) per pinned solve before the MILP (0: MILP only)"},
      {"module-milp", "split", &S::module_milp_s, 0, kMaxSeconds,
       "most seconds of the MILP on a pinned solve whose branch and bound did not finish (0: none)"},
      {"exact-module-nodes", "split", &S::exact_module_nodes, 1, 64,
       "pinned problems with more free nodes are fused (cheap followers) before the exact solve"},
      {"polish-time", "split", &S::polish_time_s, 0, kMaxSeconds,
       "most seconds of local search (node and branch moves, re-sequencing) on an unproven stitched plan (and on "
       "milp's start)"},
      {"cut-slack", "split", &S::cut_slack, 0, 1, "share of a module's longest path a multi-channel cut may give up"},
      {"fused-slack", "split", &S::fused_slack, 0, 10,
       "unproven modules get exact solves only for pairs within this share of the best quick plan"},
      {"auto-milp-pairs", "auto", &S::auto_milp_pairs, 0, 1e9,
       "auto runs the MILP on graphs with at most this many unordered node pairs"},
      {"auto-milp-time", "auto", &S::auto_milp_time_s, 1e-3, kMaxSeconds, "most seconds auto gives the MILP"},
      {"auto-milp-max-nodes", "auto", &S::auto_milp_max_nodes, 0, 1e6,
       "auto counts pairs (an n^2/8-byte closure) only up to this many nodes"},
      {"bound-lp-time", "bounds", &S::bound_lp_time_s, 0, kMaxSeconds,
       "most seconds for the LP work bound (it also gets at most 10% of the time limit; 0: skipped)"},
      {"bnb-expansions", "bnb", &S::bnb_expansions, 0, 1e15,
       "--solver bnb: most partial schedules (0: until the time limit)"},
      {"symmetry",
       "solve",
       &S::symmetry,
       0,
       3,
       "identical devices (same kind, specs, costs, links) are searched once: milp orders each class by "
       "the first node it runs (inputs), its op count (ops) or its busy time (busy); bnb and split use "
       "the class's first unused device; none searches every device",
       {"none", "inputs", "ops", "busy"}},
  };
}

bool is_integer(const OptionInfo::Field& f) { return !std::holds_alternative<double SolveOptions::*>(f); }

double value_of(const SolveOptions& o, const OptionInfo::Field& f) {
  return std::visit([&](auto member) { return static_cast<double>(o.*member); }, f);
}

std::string number_text(double x) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", x);
  return buf;
}

// A bound of the range as written for the user: whole numbers in full for integer options.
std::string bound_text(const OptionInfo& info, double x) {
  if (std::holds_alternative<std::uint64_t SolveOptions::*>(info.field) && x >= kMaxSeed) return "9223372036854775807";
  if (is_integer(info.field)) return std::to_string(static_cast<long long>(x));
  return number_text(x);
}

Error out_of_range(const OptionInfo& info, const std::string& text) {
  return usage_error("--" + info.name + ": '" + text + "' is out of range [" + bound_text(info, info.min) + ", " +
                     bound_text(info, info.max) + "]");
}

}  // namespace

const std::vector<OptionInfo>& option_registry() {
  static const std::vector<OptionInfo> registry = make_registry();
  return registry;
}

const OptionInfo* find_option(const std::string& name) {
  for (const OptionInfo& o : option_registry())
    if (o.name == name) return &o;
  return nullptr;
}

std::string option_value_text(const SolveOptions& options, const OptionInfo& info) {
  if (!info.choices.empty()) {
    const int i = static_cast<int>(value_of(options, info.field));
    return i >= 0 && i < static_cast<int>(info.choices.size()) ? info.choices[i] : std::to_string(i);
  }
  if (auto seed = std::get_if<std::uint64_t SolveOptions::*>(&info.field)) return std::to_string(options.**seed);
  return number_text(value_of(options, info.field));
}

Status set_option(SolveOptions& options, const std::string& name, const std::string& text) {
  const OptionInfo* info = find_option(name);
  if (!info) return usage_error("unknown option '" + name + "'");
  if (!info->choices.empty()) {
    std::string known;
    for (size_t i = 0; i < info->choices.size(); ++i) {
      if (info->choices[i] == text) {
        options.*std::get<int SolveOptions::*>(info->field) = static_cast<int>(i);
        return {};
      }
      known += (i ? "|" : "") + info->choices[i];
    }
    return usage_error("--" + name + ": '" + text + "' is not one of " + known);
  }
  if (is_integer(info->field)) {
    long long x = 0;
    size_t used = 0;
    try {
      x = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size()) return usage_error("--" + name + ": '" + text + "' is not a whole number");
    if (static_cast<double>(x) < info->min || static_cast<double>(x) > info->max) return out_of_range(*info, text);
    std::visit(
        [&](auto member) { options.*member = static_cast<std::remove_reference_t<decltype(options.*member)>>(x); },
        info->field);
    return {};
  }
  double x = 0;
  size_t used = 0;
  try {
    x = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(x))
    return usage_error("--" + name + ": '" + text + "' is not a finite number");
  if (x < info->min || x > info->max) return out_of_range(*info, text);
  options.*std::get<double SolveOptions::*>(info->field) = x;
  return {};
}

Status check_options(const SolveOptions& options) {
  for (const OptionInfo& info : option_registry()) {
    const double x = value_of(options, info.field);
    if (!std::isfinite(x)) return usage_error("--" + info.name + ": not a finite number");
    if (x < info.min || x > info.max) return out_of_range(info, option_value_text(options, info));
  }
  return {};
}

std::string options_markdown() {
  const SolveOptions defaults;
  std::string out = "| option | group | default | range | meaning |\n|---|---|---|---|---|\n";
  for (const OptionInfo& info : option_registry()) {
    std::string range =
        bound_text(info, info.min) + " to " + bound_text(info, info.max) + (is_integer(info.field) ? " (whole)" : "");
    if (!info.choices.empty()) {
      range.clear();
      for (const std::string& c : info.choices) range += (range.empty() ? "" : ", ") + c;
    }
    out += "| `--" + info.name + "` | " + info.group + " | " + option_value_text(defaults, info) + " | " + range +
           " | " + info.help + " |\n";
  }
  return out;
}

}  // namespace diviml
