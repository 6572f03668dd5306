// diviml: command-line front end. Thin by design: it parses flags, calls the library and
// prints; all logic lives in the library. Errors go to stderr as one line (escaped: ids may hold
// any byte) with an exit code by class (ErrorKind): 0 success, 1 invalid input, 2 command-line
// usage, 3 internal or solver failure, 4 a valid problem without a plan.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include "cli.hpp"
#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/io/onnx_import.hpp"
#include "diviml/objective/replay.hpp"
#include "diviml/objective/throughput.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/report/html.hpp"
#include "diviml/report/report.hpp"
#include "diviml/report/status_line.hpp"
#include "diviml/report/trace.hpp"
#include "diviml/simulate/rebalance.hpp"
#include "diviml/solve/options.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solve/tradeoff.hpp"
#include "serve_command.hpp"

namespace {

using namespace diviml;

using cli::die;
using cli::kExitUsage;
using cli::usage;

// Documented upper limit of `import --dim` (README): beyond it a value is a typo.
constexpr long long kMaxDim = kMaxOnnxDim;

// "-" is standard input where a file is read and standard output where one is written. Standard
// input is read once: two inputs cannot both come from it.
constexpr const char* kStdinName = "<stdin>";

Result<std::string> read_stdin_once() {
  static bool taken = false;
  if (taken) return usage_error("only one input can come from standard input ('-') (see diviml --help)");
  taken = true;
  return read_text_stream(std::cin, kStdinName);
}

Result<Graph> read_graph_arg(const std::string& path) {
  if (path != "-") return load_graph(path);
  auto text = read_stdin_once();
  if (!text) return text.error();
  return parse_graph(*text, kStdinName);
}

Result<Platform> load_platform_arg(const std::string& spec) {
  if (spec != "-") return load_platform(spec.empty() ? std::string(kDefaultPlatform) : spec);
  auto text = read_stdin_once();
  if (!text) return text.error();
  return parse_platform(*text, kStdinName);
}

Result<Plan> read_plan_arg(const std::string& path, const Problem& problem) {
  if (path != "-") return read_plan_file(path, problem);
  auto text = read_stdin_once();
  if (!text) return text.error();
  return parse_plan(*text, kStdinName, problem);
}

Status write_output(const std::string& path, const std::string& text) {
  if (path != "-") return write_text_file(path, text);
  if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
    return fail("cannot write to standard output");
  return {};
}

// Where the human-readable lines go: stderr when a file is written to standard output, so that
// the file stays clean in a pipe.
FILE* info_stream(std::initializer_list<std::string> outputs) {
  for (const std::string& o : outputs)
    if (o == "-") return stderr;
  return stdout;
}

std::string shown(const std::string& path) { return path == "-" ? "standard output" : path; }

// `build_s`, when given, receives the seconds spent building the problem (costs resolved, links
// laid out) once the files are read: work between reading and writing that a plan's
// solve_time_s counts.
Result<Problem> load_problem(const std::string& graph_path, const std::string& platform_spec,
                             double* build_s = nullptr) {
  auto graph = read_graph_arg(graph_path);
  if (!graph) return graph.error();
  auto platform = load_platform_arg(platform_spec);
  if (!platform) return platform.error();
  const auto t0 = std::chrono::steady_clock::now();
  auto problem = Problem::build(std::move(*graph), std::move(*platform));
  if (build_s) *build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!problem)
    return fail((graph_path == "-" ? std::string(kStdinName) : graph_path) + ": " + problem.error().message);
  return problem;
}

// A usage error naming the known solvers when `name` is not one of them.
Status check_solver(const std::string& name) {
  std::string known;
  for (const auto& s : solver_names()) {
    if (s == name) return {};
    known += (known.empty() ? "" : ", ") + s;
  }
  return usage_error("unknown solver '" + name + "' (known: " + known + ") (see diviml --help)");
}

// The value column of the summary table for an objective.
std::string value_name(const Objective& objective) {
  return objective.name() == "throughput" ? "period_us" : "makespan_us";
}

// The objective named on the command line, or a usage error naming the known ones.
Result<const Objective*> objective_of(const std::string& name) {
  if (const Objective* o = find_objective(name)) return o;
  std::string known;
  for (const auto& n : objective_names()) known += (known.empty() ? "" : ", ") + n;
  return usage_error("--objective '" + name + "' is not supported yet (supported: " + known + ") (see diviml --help)");
}

struct PlanArgs {
  std::string graph, platform, solver = "auto", objective = "latency", output, gantt, trace, html;
  SolveOptions options;  // every registered option (solve/options.hpp)
  bool quiet = false;
  bool progress = false;  // the status line even where stderr is not a terminal
};

// The status line of a solve on stderr: on a terminal unless --quiet (or --verbose, whose
// lines would tear it), and wherever --progress asks. Null when none.
std::unique_ptr<StatusLine> status_line_for(const PlanArgs& a) {
  const bool tty = is_terminal(stderr);
  if (!a.progress && (a.quiet || a.options.verbose || !tty)) return nullptr;
  return std::make_unique<StatusLine>(stderr, tty, a.options.time_limit_s);
}

// The sink of a solve's progress: --verbose lines and the status line, either or both.
ProgressSink progress_sink(const PlanArgs& a, StatusLine* status, std::mutex& mutex,
                           std::chrono::steady_clock::time_point t0) {
  if (!a.options.verbose && !status) return nullptr;
  const bool verbose = a.options.verbose;
  return [verbose, status, &mutex, t0](const Progress& p) {
    if (status) status->update(p);
    if (!verbose) return;
    // Counted phases (split's module solves) print their start and end, not every step.
    if (p.total > 0 && p.done != 0 && p.done != p.total) return;
    std::lock_guard<std::mutex> lock(mutex);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "progress %.3f s: %s: %s", s, p.solver.c_str(), one_line(p.message).c_str());
    if (p.total > 0) std::fprintf(stderr, " %d/%d", p.done, p.total);
    if (std::isfinite(p.incumbent)) std::fprintf(stderr, " (best %.3f)", p.incumbent);
    if (p.bound > 0) std::fprintf(stderr, " (bound %.3f)", p.bound);
    std::fputc('\n', stderr);
  };
}

void add_problem_flags(CLI::App* cmd, std::string& graph, std::string& platform) {
  cmd->add_option("--graph,-g", graph, "graph file (diviml.graph/1; '-': standard input)")->required();
  cmd->add_option(
      "--platform,-p", platform,
      std::string("platform file or bundled platform name ('-': standard input; default: ") + kDefaultPlatform + ")");
}

// One flag per registered option (`diviml options` lists them): parsed and range-checked by
// the registry, so the CLI holds no limits of its own.
void add_registry_flags(CLI::App* cmd, SolveOptions& options) {
  const SolveOptions defaults;
  for (const OptionInfo& info : option_registry()) {
    const std::string name = info.name;
    auto check = CLI::Validator(
        [name](std::string& text) -> std::string {
          SolveOptions scratch;
          Status s = set_option(scratch, name, text);
          if (s) return {};
          const std::string prefix = "--" + name + ": ";
          const std::string& m = s.error().message;
          return m.rfind(prefix, 0) == 0 ? m.substr(prefix.size()) : m;
        },
        "");
    // What --help shows after the flag: its kind of number, or its named values.
    std::string type = std::holds_alternative<double SolveOptions::*>(info.field) ? "FLOAT" : "INT";
    if (!info.choices.empty()) {
      type.clear();
      for (const std::string& c : info.choices) type += (type.empty() ? "{" : ",") + c;
      type += "}";
    }
    cmd->add_option_function<std::string>(
           "--" + name, [&options, name](const std::string& text) { (void)set_option(options, name, text); },
           info.help + " (default " + option_value_text(defaults, info) + ")")
        ->check(check)
        ->type_name(type);
  }
  cmd->add_flag("--verbose,-v", options.verbose, "solver details (notes, modules; CBC's log on stderr)");
}

int run_plan(const PlanArgs& a) {
  auto objective = objective_of(a.objective);
  if (!objective) return die(objective.error());
  if (Status s = check_solver(a.solver); !s) return die(s.error());
  double build_s = 0;
  auto problem = load_problem(a.graph, a.platform, &build_s);
  if (!problem) return die(problem.error());
  SolveHooks hooks;
  hooks.objective = *objective;
  // The solve's progress on stderr as it happens (events come from worker threads).
  std::mutex progress_mutex;
  std::unique_ptr<StatusLine> status = status_line_for(a);
  hooks.progress = progress_sink(a, status.get(), progress_mutex, std::chrono::steady_clock::now());
  auto plan = solve(a.solver, *problem, a.options, hooks);
  if (status) status->stop();
  // Everything between reading and writing: building the problem, then solve() (bounds,
  // replay, validation and memory checks included).
  if (plan) plan->solve_time_s += build_s;
  hooks.progress = nullptr;  // the reference row below reports nothing
  if (!plan) return die(plan.error());
  if ((a.output == "-") + (a.gantt == "-") + (a.trace == "-") + (a.html == "-") > 1)
    return usage("only one of --output, --gantt, --trace and --html can be standard output");
  if (Status s = write_output(a.output, plan_to_json(*problem, *plan)); !s) return die(s.error());
  if (!a.gantt.empty())
    if (Status s = write_output(a.gantt, gantt_svg(*problem, *plan)); !s) return die(s.error());
  if (!a.trace.empty())
    if (Status s = write_output(a.trace, chrome_trace(*problem, *plan)); !s) return die(s.error());
  FILE* info = info_stream({a.output, a.gantt, a.trace, a.html});
  // The table (and the report's comparison): the plan, and the `fastest` baseline beside it.
  std::vector<SummaryRow> rows{summary_row(*plan)};
  double fastest_us = plan->solver == "fastest" ? plan->value() : 0;
  if (!a.quiet || !a.html.empty()) {
    if (plan->solver != "fastest") {
      // Only the reference row of the table: its bounds get a short LP budget, not the limit.
      SolveOptions reference = a.options;
      reference.time_limit_s = std::min(1.0, a.options.time_limit_s);
      auto base = solve("fastest", *problem, reference, hooks);
      if (base) {
        rows.push_back(summary_row(*base));
        fastest_us = base->value();
      } else {
        rows.push_back(SummaryRow{"fastest", "error", 0, 0, 0, base.error().message});
      }
    }
  }
  if (!a.html.empty())
    if (Status s = write_output(a.html, html_report(*problem, *plan, {rows, fastest_us})); !s) return die(s.error());
  if (!a.quiet) {
    std::fprintf(info, "graph %s (%d nodes, %d edges) on platform %s (%d devices)\n", problem->graph().name.c_str(),
                 problem->num_nodes(), problem->graph().num_edges(), problem->platform().name.c_str(),
                 problem->num_devices());
    std::fputs(summary_table(rows, fastest_us, value_name(**objective)).c_str(), info);
    if (plan->objective == "throughput") {
      const double per_s = plan->throughput_per_s();
      std::fprintf(info, "throughput: period %.3f us (%.1f inputs/s", plan->period_us, per_s);
      if (problem->graph().batch > 1)
        std::fprintf(info, " = %.1f samples/s at batch %d", per_s * problem->graph().batch, problem->graph().batch);
      std::fprintf(info, "), latency %.3f us, %d lane(s)\n", plan->latency_us, plan->lanes);
    }
    if (a.options.verbose) {
      for (const std::string& note : plan->notes) std::fprintf(info, "note: %s\n", note.c_str());
      const Graph& g = problem->graph();
      for (size_t q = 0; q < plan->modules.size(); ++q) {
        const ModuleSummary& m = plan->modules[q];
        const std::string how =
            m.segments > 1 ? std::to_string(m.segments) + " segments (multi-channel cuts, DP over crossing devices)"
            : m.chain      ? "chain (DP)"
            : m.fused      ? "solved whole, fused"
                           : "exact (branch and bound, MILP)";
        std::fprintf(info, "module %zu: entry %s, exit %s, %d nodes inside, %d channel(s), %s%s\n", q,
                     m.entry >= 0 ? g.nodes[m.entry].id.c_str() : "(start)",
                     m.exit >= 0 ? g.nodes[m.exit].id.c_str() : "(end)", m.size, m.channels, how.c_str(),
                     m.proven ? ", proven" : "");
        for (size_t c = 0; c < m.cuts.size(); ++c) {
          std::string names;
          for (int v : m.cuts[c]) names += (names.empty() ? "" : ", ") + g.nodes[v].id;
          std::fprintf(info, "  cut %zu: %s\n", c, names.c_str());
        }
      }
    }
    std::fprintf(info, "plan written to %s%s%s%s%s\n", shown(a.output).c_str(),
                 a.gantt.empty() ? "" : ", Gantt chart to ", a.gantt.empty() ? "" : shown(a.gantt).c_str(),
                 a.html.empty() ? "" : ", report to ", a.html.empty() ? "" : shown(a.html).c_str());
  }
  return 0;
}

// "1.5x" for a factor of 1.5 (file names of the trade-off's points).
std::string fmt_factor(double factor) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gx", factor);
  return buf;
}

int run_compare(const PlanArgs& a, std::vector<std::string> solvers, const std::string& out_dir, bool as_json) {
  if (as_json && a.html == "-") return usage("--json and --html - would both write standard output");
  auto objective = objective_of(a.objective);
  if (!objective) return die(objective.error());
  for (const std::string& name : solvers)
    if (Status s = check_solver(name); !s) return die(s.error());
  // Without --solvers: every solver that supports the objective.
  if (solvers.empty())
    for (const std::string& name : solver_names())
      if (make_solver(name)->supports(**objective)) solvers.push_back(name);
  auto problem = load_problem(a.graph, a.platform);
  if (!problem) return die(problem.error());
  std::vector<SummaryRow> rows;
  double fastest_us = 0;
  bool any = false;
  SolveHooks hooks;
  hooks.objective = *objective;
  std::mutex progress_mutex;
  std::unique_ptr<StatusLine> status = status_line_for(a);
  hooks.progress = progress_sink(a, status.get(), progress_mutex, std::chrono::steady_clock::now());
  std::optional<Plan> best;  // the report's plan: the least value (the first of equals)
  std::vector<Error> failures;
  for (size_t i = 0; i < solvers.size(); ++i) {
    const std::string& name = solvers[i];
    if (status) status->begin("compare " + std::to_string(i + 1) + "/" + std::to_string(solvers.size()));
    auto plan = solve(name, *problem, a.options, hooks);
    if (!plan) {
      rows.push_back(SummaryRow{name, "error", 0, 0, 0, plan.error().message});
      failures.push_back(plan.error());
      continue;
    }
    any = true;
    if (!a.html.empty() && (!best || plan->value() < best->value())) best = *plan;
    if (name == "fastest") fastest_us = plan->value();
    rows.push_back(summary_row(*plan));
    if (!out_dir.empty()) {
      std::string base = out_dir + "/" + problem->graph().name + "." + name;
      if (Status s = write_text_file(base + ".plan.json", plan_to_json(*problem, *plan)); !s) return die(s.error());
      if (Status s = write_text_file(base + ".svg", gantt_svg(*problem, *plan)); !s) return die(s.error());
    }
  }
  if (status) status->stop();
  // No solver found a plan: one line on stderr and the exit of their errors' class (usage when
  // every one was a usage error, internal when one broke, else infeasible or input), after the
  // table or JSON that names each.
  auto none = [&]() -> int {
    bool internal = false, same = true;
    for (const Error& e : failures) {
      internal = internal || e.kind == ErrorKind::kInternal;
      same = same && e.kind == failures.front().kind;
    }
    const ErrorKind kind = internal ? ErrorKind::kInternal : same ? failures.front().kind : ErrorKind::kInfeasible;
    return die(Error{"compare: no solver found a plan (" + std::to_string(failures.size()) +
                         " failed; the first: " + failures.front().message + ")",
                     kind});
  };
  if (best)
    if (Status s = write_output(a.html, html_report(*problem, *best, {rows, fastest_us})); !s) return die(s.error());
  if (as_json) {
    std::fputs(
        summary_json(rows, fastest_us, (*objective)->name(), problem->graph().name, problem->platform().name).c_str(),
        stdout);
    return any ? 0 : none();
  }
  FILE* info = info_stream({a.html});
  std::fprintf(info, "graph %s (%d nodes, %d edges) on platform %s (%d devices)\n", problem->graph().name.c_str(),
               problem->num_nodes(), problem->graph().num_edges(), problem->platform().name.c_str(),
               problem->num_devices());
  std::fputs(summary_table(rows, fastest_us, value_name(**objective)).c_str(), info);
  if (best)
    std::fprintf(info, "report of the best plan (%s) written to %s\n", best->solver.c_str(), shown(a.html).c_str());
  return any ? 0 : none();
}

// `compare --tradeoff`: the latency plan, then the best throughput plan under each latency limit
// (solve/tradeoff.hpp), as a table, JSON, plan files per point and the HTML report of the least
// period with the trade-off drawn.
int run_tradeoff(const PlanArgs& a, const std::string& out_dir, bool as_json) {
  if (as_json && a.html == "-") return usage("--json and --html - would both write standard output");
  auto problem = load_problem(a.graph, a.platform);
  if (!problem) return die(problem.error());
  SolveHooks hooks;
  std::mutex progress_mutex;
  std::unique_ptr<StatusLine> status = status_line_for(a);
  hooks.progress = progress_sink(a, status.get(), progress_mutex, std::chrono::steady_clock::now());
  if (status) status->begin("trade-off: latency, then " + std::to_string(kTradeoffFactors.size()) + " limits");
  auto t = latency_tradeoff(*problem, a.options, kTradeoffFactors, hooks);
  if (status) status->stop();
  if (!t) return die(t.error());
  const Plan* best = nullptr;  // the least period found: the report's plan
  for (const TradeoffPoint& p : t->points) {
    if (!p.plan) continue;
    if (!best || p.plan->period_us < best->period_us) best = &*p.plan;
    if (!out_dir.empty()) {
      const std::string name = p.factor > 0 ? fmt_factor(p.factor) : std::string("none");
      const std::string base = out_dir + "/" + problem->graph().name + ".tradeoff-" + name;
      if (Status s = write_text_file(base + ".plan.json", plan_to_json(*problem, *p.plan)); !s) return die(s.error());
      if (Status s = write_text_file(base + ".svg", gantt_svg(*problem, *p.plan)); !s) return die(s.error());
    }
  }
  const std::string json = tradeoff_json(*problem, *t);
  if (best && !a.html.empty()) {
    HtmlComparison with;
    with.tradeoff_json = json;
    if (Status s = write_output(a.html, html_report(*problem, *best, with)); !s) return die(s.error());
  }
  if (as_json) {
    std::fputs(json.c_str(), stdout);
    return best ? 0 : 4;
  }
  FILE* info = info_stream({a.html});
  std::fprintf(info, "graph %s (%d nodes, %d edges) on platform %s (%d devices)\n", problem->graph().name.c_str(),
               problem->num_nodes(), problem->graph().num_edges(), problem->platform().name.c_str(),
               problem->num_devices());
  std::fputs(tradeoff_table(*t).c_str(), info);
  if (best && !a.html.empty())
    std::fprintf(info, "report of the least period (%g us) with the trade-off written to %s\n", best->period_us,
                 shown(a.html).c_str());
  return best ? 0 : 4;
}

int run_validate(const std::string& graph, const std::string& platform, const std::string& plan_path,
                 const std::string& objective_name) {
  auto problem = load_problem(graph, platform);
  if (!problem) return die(problem.error());
  auto plan = read_plan_arg(plan_path, *problem);
  if (!plan) return die(plan.error());
  // The plan says what it is scored by; --objective, when given, must agree.
  if (!objective_name.empty() && objective_name != plan->objective) {
    if (auto o = objective_of(objective_name); !o) return die(o.error());
    return die(fail(plan_path + ": a " + plan->objective + " plan, not a " + objective_name + " plan"));
  }
  const Objective* objective = find_objective(plan->objective);
  const std::string source = plan_path == "-" ? std::string(kStdinName) : plan_path;
  if (Status s = objective->validate(*problem, *plan); !s) return die(prefixed(source + ": ", s.error()));
  if (plan->objective == "throughput") {
    std::printf("%s: valid plan, period %.3f us (%.1f inputs/s), latency %.3f us, %d lane(s) on %d devices\n",
                source.c_str(), plan->period_us, plan->throughput_per_s(), plan->latency_us, plan->lanes,
                problem->num_devices());
    return 0;
  }
  std::printf("%s: valid plan, makespan %.3f us on %d devices\n", source.c_str(), plan->makespan_us,
              problem->num_devices());
  return 0;
}

// Runs a plan on perturbed true costs and lets the runtime assistant rebalance it
// (simulate/rebalance.hpp); prints the value as predicted, as planned, rebalanced, and
// re-planned from scratch with the true costs by `replan`.
struct RebalanceArgs {
  std::string graph, platform, plan, output, replan = "auto";
  std::vector<std::string> slow;  // DEVICE=FACTOR
  double noise = 0, time_limit_s = 60;
  std::uint64_t seed = 0;
  int epochs = 50;
};

int run_rebalance(const RebalanceArgs& a) {
  if (!std::isfinite(a.time_limit_s) || !std::isfinite(a.noise))
    return usage("--time-limit and --noise must be finite numbers");
  auto problem = load_problem(a.graph, a.platform);
  if (!problem) return die(problem.error());
  auto plan = read_plan_arg(a.plan, *problem);
  if (!plan) return die(plan.error());
  const Objective* objective = find_objective(plan->objective);
  if (Status s = objective->validate(*problem, *plan); !s) return die(prefixed(a.plan + ": ", s.error()));
  Perturbation p;
  p.noise = a.noise;
  p.seed = a.seed;
  p.slowdown.assign(problem->num_devices(), 1.0);
  for (const std::string& item : a.slow) {
    const size_t eq = item.rfind('=');
    const int d = eq == std::string::npos ? -1 : problem->platform().find(item.substr(0, eq));
    char* end = nullptr;
    const double f = eq == std::string::npos ? 0 : std::strtod(item.c_str() + eq + 1, &end);
    if (d < 0 || !end || *end != '\0' || !std::isfinite(f) || f <= 0 || f > 1e6)
      return usage("--slow '" + item +
                   "' must look like DEVICE=FACTOR with a device of the platform and a factor above 0, at most 1e6");
    p.slowdown[d] = f;
  }
  auto truth = perturbed(*problem, p);
  if (!truth) return die(truth.error());
  Result<Mapping> decided = plan->objective == "throughput" ? pipeline_mapping_of(*problem, *plan)
                                                            : Result<Mapping>(mapping_of(*problem, *plan));
  if (!decided) return die(Error{a.plan + ": " + decided.error().message, ErrorKind::kInput});
  Mapping start = std::move(*decided);
  start.pace_us = 0;  // what the devices allow, on the drifted costs
  SolveOptions options;
  options.time_limit_s = a.time_limit_s;
  SolveContext ctx = SolveContext::start(options);
  ctx.objective = objective;
  auto r = rebalance(*problem, *truth, start, ctx, a.epochs);
  if (!r) return die(r.error());
  for (const std::string& line : r->log) std::fprintf(stderr, "%s\n", line.c_str());
  SolveHooks hooks;
  hooks.objective = objective;
  auto again = solve(a.replan, *truth, options, hooks);
  const char* unit = plan->objective == "throughput" ? "period_us" : "makespan_us";
  std::printf("%-40s %14s\n", "run", unit);
  std::printf("%-40s %14.1f\n", "planned (profiled costs)", r->predicted);
  std::printf("%-40s %14.1f\n", "as planned (true costs)", r->unbalanced);
  std::printf(
      "%-40s %14.1f\n",
      ("rebalanced (" + std::to_string(r->moves) + " moves, " + std::to_string(r->rollbacks) + " rolled back)").c_str(),
      r->rebalanced);
  if (again)
    std::printf("%-40s %14.1f\n", ("re-planned (" + a.replan + ", true costs)").c_str(), again->value());
  else
    std::printf("%-40s %14s  (%s)\n", ("re-planned (" + a.replan + ")").c_str(), "-", again.error().message.c_str());
  if (!a.output.empty()) {
    auto kept = objective->evaluate(*truth, r->mapping);
    if (!kept) return die(kept.error());
    kept->solver = "rebalance";
    kept->notes.push_back("rebalanced on true costs: " + std::to_string(r->moves) + " moves over " +
                          std::to_string(r->epochs) + " epochs");
    if (Status s = plan_fits_files(*kept); !s) return die(prefixed("rebalance: ", s.error()));
    if (Status s = write_output(a.output, plan_to_json(*truth, *kept)); !s) return die(s.error());
  }
  return 0;
}

// Draws any plan file, a measured timeline (diviml-execute --timeline) included: it is
// read as a plan of this graph and platform but not validated, since measured times need not
// match the cost model.
int run_gantt(const std::string& graph, const std::string& platform, const std::string& plan_path,
              const std::string& out, const std::string& trace, const std::string& html) {
  auto problem = load_problem(graph, platform);
  if (!problem) return die(problem.error());
  auto plan = read_plan_arg(plan_path, *problem);
  if (!plan) return die(plan.error());
  // Drawn without validation (measured times need not match the cost model), but whole.
  if (Status s = check_placements(*problem, *plan); !s)
    return die(prefixed((plan_path == "-" ? std::string(kStdinName) : plan_path) + ": ", s.error()));
  if (out.empty() && trace.empty() && html.empty()) return usage("gantt: give --output, --trace or --html");
  if ((out == "-") + (trace == "-") + (html == "-") > 1)
    return usage("only one of --output, --trace and --html can be standard output");
  if (!out.empty())
    if (Status s = write_output(out, gantt_svg(*problem, *plan)); !s) return die(s.error());
  if (!trace.empty())
    if (Status s = write_output(trace, chrome_trace(*problem, *plan)); !s) return die(s.error());
  if (!html.empty())
    if (Status s = write_output(html, html_report(*problem, *plan)); !s) return die(s.error());
  std::fprintf(info_stream({out, trace, html}), "%s: %zu ops, %zu transfers, span %.3f us\n",
               shown(!out.empty()     ? out
                     : !trace.empty() ? trace
                                      : html)
                   .c_str(),
               plan->placements.size(), plan->transfers.size(), plan->makespan_us);
  return 0;
}

int run_platforms() {
  auto names = bundled_platform_names();
  if (names.empty()) return die("no bundled platforms found in " + bundled_platforms_dir());
  std::printf("bundled platforms in %s (default: %s)\n", bundled_platforms_dir().c_str(), kDefaultPlatform);
  for (const auto& n : names) {
    auto p = load_platform(n);
    if (!p) {
      std::printf("  %-14s error: %s\n", n.c_str(), p.error().message.c_str());
      continue;
    }
    std::string devs;
    for (const auto& d : p->devices) devs += (devs.empty() ? "" : ", ") + d.name + "(" + d.kind + ")";
    std::printf("  %-14s %2d devices: %s\n", n.c_str(), p->num_devices(), devs.c_str());
  }
  return 0;
}

}  // namespace

int run(int argc, char** argv) {
  CLI::App app{"DiviML: map and schedule a DNN graph onto heterogeneous devices"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("diviml ") + DIVIML_VERSION);
  app.footer(
      "Files: '-' reads standard input where a file is read (one input at most), and writes standard\n"
      "output where one is written (messages then go to stderr).\n"
      "Examples:\n"
      "  diviml plan -g models/resnet18.json -o plan.json --gantt plan.svg\n"
      "  diviml compare -g models/googlenet.json -p cluster-3srv --json\n"
      "  diviml serve --preset llama2-70b -p six-srv --tpot-ms 100 -o serve.json --html serve.html\n"
      "  diviml COMMAND --help   (every command has its own examples)");
  // Usage errors read like every other error: one line on stderr, non-zero exit.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("diviml: error: ") + one_line(e.what()) + " (see diviml --help)\n";
  });
  PlanArgs a;
  std::string solver_help = "solver: ";
  for (const auto& s : solver_names()) solver_help += s + " (" + make_solver(s)->description() + "); ";

  auto* plan = app.add_subcommand("plan", "plan a graph on a platform and write the plan");
  add_problem_flags(plan, a.graph, a.platform);
  plan->add_option("--solver,-s", a.solver, solver_help + "default auto");
  plan->add_option("--objective", a.objective,
                   "latency (default: one input as early as possible) or throughput (a stream: the least period)");
  add_registry_flags(plan, a.options);
  plan->add_option("--output,-o", a.output, "plan file to write ('-': standard output)")->required();
  plan->add_option("--gantt", a.gantt, "SVG Gantt chart to write ('-': standard output)");
  plan->add_option("--trace", a.trace,
                   "Chrome trace to write (Trace Event JSON for Perfetto or chrome://tracing; '-': standard output)");
  plan->add_option("--html", a.html,
                   "self-contained HTML report to write (Gantt with costs on hover, memory, bound, comparison; "
                   "'-': standard output)");
  auto* plan_quiet = plan->add_flag("--quiet,-q", a.quiet, "print nothing on success (no status line either)");
  plan->add_flag("--progress", a.progress,
                 "show the status line (elapsed / limit, best, bound, gap, modules done) even where stderr is "
                 "not a terminal (default: only on a terminal)")
      ->excludes(plan_quiet);
  plan->footer(
      "Examples:\n"
      "  diviml plan -g models/resnet18.json -o plan.json --gantt plan.svg\n"
      "  diviml plan -g models/googlenet.json -p cluster-3srv -s split --time-limit 30 -o plan.json\n"
      "  diviml plan -g models/resnet18.json --objective throughput -o stream.json\n"
      "  diviml plan -g models/googlenet.json -s split -o plan.json --html report.html --trace plan.trace.json\n"
      "  diviml gen rwnn -o - | diviml plan -g - -o - -q > plan.json");

  std::vector<std::string> solvers;
  std::string out_dir;
  auto* compare = app.add_subcommand("compare", "run several solvers on one problem and print a table");
  add_problem_flags(compare, a.graph, a.platform);
  compare->add_option("--solvers", solvers, "solvers to run (default: all that support the objective)")->delimiter(',');
  compare->add_option("--objective", a.objective, "latency (default) or throughput");
  add_registry_flags(compare, a.options);
  compare->add_option("--out-dir", out_dir, "write <graph>.<solver>.plan.json and .svg here");
  compare->add_option("--html", a.html,
                      "HTML report of the best plan, with the whole table, to write ('-': standard output)");
  auto* compare_quiet = compare->add_flag("--quiet,-q", a.quiet, "no status line while the solvers run");
  compare->add_flag("--progress", a.progress, "show the status line even where stderr is not a terminal")
      ->excludes(compare_quiet);
  bool compare_json = false;
  compare->add_flag("--json", compare_json, "print the comparison as JSON (one object per solver) instead of a table");
  bool tradeoff = false;
  compare->add_flag("--tradeoff", tradeoff,
                    "throughput: the latency plan, then auto's best period within 1, 1.5, 2 and 4 times its makespan "
                    "and without a limit (each solve within --time-limit), instead of the solvers");
  compare->footer(
      "Examples:\n"
      "  diviml compare -g models/resnet18.json\n"
      "  diviml compare -g models/googlenet.json --solvers heft,split,milp --time-limit 20 --json\n"
      "  diviml compare -g models/resnet18.json --objective throughput --out-dir runs/\n"
      "  diviml compare -g models/googlenet.json --solvers heft,split --html compare.html\n"
      "  diviml compare -g models/googlenet.json --tradeoff --time-limit 10 --html tradeoff.html");

  std::string vgraph, vplatform, vplan, vobjective;
  auto* val = app.add_subcommand("validate", "check a plan: precedence + transfers, no overlap, memory");
  add_problem_flags(val, vgraph, vplatform);
  val->add_option("plan", vplan, "plan file ('-': standard input)")->required();
  val->add_option("--objective", vobjective, "latency or throughput (default: what the plan file says)");
  val->footer(
      "Examples:\n"
      "  diviml validate -g models/resnet18.json plan.json\n"
      "  diviml plan -g models/resnet18.json -o - -q | diviml validate -g models/resnet18.json -");

  RebalanceArgs rb;
  auto* reb = app.add_subcommand("rebalance", "run a plan on drifted costs; rebalance it at runtime; compare");
  add_problem_flags(reb, rb.graph, rb.platform);
  reb->add_option("plan", rb.plan, "plan file (latency or throughput, one lane)")->required();
  reb->add_option("--slow", rb.slow, "DEVICE=FACTOR: the device's true costs are FACTOR x the profile (repeatable)");
  reb->add_option("--noise", rb.noise, "sigma of a mean-one log-normal factor per op and device (default 0)")
      ->check(CLI::Range(0.0, 2.0));
  reb->add_option("--seed", rb.seed, "seed of the noise (default 0)");
  reb->add_option("--epochs", rb.epochs, "most runs the assistant measures (default 50)")->check(CLI::Range(1, 100000));
  reb->add_option("--replan", rb.replan, "solver that re-plans from scratch with the true costs (default auto)");
  reb->add_option("--time-limit", rb.time_limit_s,
                  "seconds for the rebalancing, and again for the re-plan (default 60)")
      ->check(CLI::Range(0.001, 1e6));
  reb->add_option("-o,--output", rb.output, "the rebalanced plan, timed on the true costs");
  reb->footer(
      "Examples:\n"
      "  diviml rebalance -g G.json -p cpu-2gpu plan.json --slow gpu0=1.5\n"
      "  diviml rebalance -g G.json plan.json --noise 0.2 --seed 3 -o rebalanced.json");

  std::string ggraph, gplatform, gplan, gout;
  auto* gantt = app.add_subcommand("gantt", "draw a plan file, or a measured timeline, as an SVG Gantt chart");
  add_problem_flags(gantt, ggraph, gplatform);
  gantt->add_option("plan", gplan, "plan file (or diviml-execute --timeline; '-': standard input)")->required();
  std::string gtrace;
  gantt->add_option("--output,-o", gout, "SVG file to write ('-': standard output)");
  gantt->add_option("--trace", gtrace, "Chrome trace to write (Trace Event JSON; '-': standard output)");
  std::string ghtml;
  gantt->add_option("--html", ghtml, "self-contained HTML report to write ('-': standard output)");
  gantt->footer(
      "Examples:\n"
      "  diviml gantt -g models/resnet18.json plan.json -o plan.svg\n"
      "  diviml gantt -g G.json measured.timeline.json -o measured.svg   # diviml-execute --timeline\n"
      "  diviml gantt -g models/resnet18.json plan.json --html plan.html");

  app.add_subcommand("platforms", "list the bundled platforms")->footer("Examples:\n  diviml platforms");

  bool options_markdown_out = false;
  auto* opts = app.add_subcommand("options", "list every solve option: name, default, range, meaning");
  opts->add_flag("--markdown", options_markdown_out, "as the Markdown table of docs/options.md");
  opts->footer("Examples:\n  diviml options\n  diviml options --markdown > docs/options.md");

  std::string cgraph, cplatform, cdevice;
  auto* costs = app.add_subcommand("costs", "compare profiled costs with the roofline, per op kind");
  add_problem_flags(costs, cgraph, cplatform);
  costs->add_option("--device", cdevice, "device whose profiled costs to compare")->required();
  costs->footer("Examples:\n  diviml costs -g models/resnet18.json --device gpu0");

  std::string onnx_in, onnx_out, onnx_name;
  std::vector<std::string> onnx_dims;
  auto* imp = app.add_subcommand("import", "convert an ONNX model into a graph file");
  imp->add_option("model", onnx_in, "ONNX model file ('-': standard input)")->required();
  imp->add_option("--output,-o", onnx_out, "graph file to write ('-': standard output)")->required();
  imp->add_option("--dim", onnx_dims, "value of a symbolic dimension, NAME=N (repeatable)");
  imp->add_option("--name", onnx_name, "graph name (default: the ONNX graph's name)");
  bool onnx_keep_bn = false;
  imp->add_flag("--no-fold-batchnorm", onnx_keep_bn,
                "keep a BatchNormalization after a convolution as its own op (default: folded into the "
                "convolution, as torch.onnx and diviml-export do)");
  imp->footer(
      "Examples:\n"
      "  diviml import resnet50.onnx -o resnet50.json\n"
      "  diviml import bert.onnx -o bert.json --dim batch_size=1 --dim sequence=128\n"
      "  diviml import - -o - < model.onnx > graph.json");

  cli::ServeArgs serve_args;
  auto* serve = cli::add_serve_command(app, serve_args);

  auto* gen = app.add_subcommand("gen", "generate a synthetic graph file");
  gen->require_subcommand(1);
  gen->footer(
      "Examples:\n"
      "  diviml gen rwnn --nodes 32 --stages 3 -o rwnn.json\n"
      "  diviml gen transformer --layers 96 --d-model 12288 --heads 96 --seq 2048 -o gpt3.json\n"
      "  diviml gen transformer --preset llama2-70b --seq 1 --context 2048 --batch 16 -o decode.json\n"
      "  diviml gen random --nodes 100 --edge-prob 0.03 --seed 2 -o - | diviml plan -g - -o plan.json");
  int gen_nodes = 30, gen_modules = 4, gen_width = 3, gen_skip = 0;
  double gen_p = 0.08;
  std::uint64_t gen_seed = 1;
  std::string gen_out;
  auto* gen_random = gen->add_subcommand("random", "random DAG of conv-like layers");
  gen_random->add_option("--nodes", gen_nodes, "operators")->check(CLI::Range(1, 1000000));
  gen_random->add_option("--edge-prob", gen_p, "probability of an edge from each earlier node")
      ->check(CLI::Range(0.0, 1.0));
  auto* gen_chain = gen->add_subcommand("chain", "chain of Inception-like modules");
  gen_chain->add_option("--modules", gen_modules, "modules")->check(CLI::Range(1, 100000));
  gen_chain->add_option("--width", gen_width, "parallel branches per module")->check(CLI::Range(1, 1000));
  gen_chain->add_option("--skip", gen_skip, "residual edge across every N modules (0: none)")
      ->check(CLI::Range(0, 100000));
  RwnnSpec rw;
  auto* gen_rwnn = gen->add_subcommand("rwnn", "randomly wired network (Xie et al. 2019)");
  gen_rwnn->add_option("--graph-model", rw.model, "random graph model: ws, er or ba (default ws)");
  gen_rwnn->add_option("--nodes", rw.nodes, "nodes per stage (default 32)");
  gen_rwnn->add_option("--stages", rw.stages, "random stages (default 3)");
  gen_rwnn->add_option("--k", rw.k, "WS: ring neighbours, even (default 4)");
  gen_rwnn->add_option("--p", rw.p, "WS rewiring / ER edge probability (default 0.75)");
  gen_rwnn->add_option("--m", rw.m, "BA: edges per new node (default 5)");
  gen_rwnn->add_option("--channels", rw.channels, "channels of the first stage (default 78)");
  gen_rwnn->add_option("--resolution", rw.resolution, "input image side (default 224)");
  cli::ModelFlags tf_flags;
  int tf_seq = 128, tf_batch = 1, tf_context = 0, tf_cache = 0;
  bool tf_split_heads = false, tf_last_logits = false;
  auto* gen_tf =
      gen->add_subcommand("transformer", "decoder-only transformer (GPT, LLaMA), one prefill or decode pass");
  cli::add_model_flags(gen_tf, tf_flags);
  gen_tf->add_option("--seq", tf_seq, "tokens of each sequence in the pass (default 128; a decode step: 1)")
      ->check(CLI::Range(1, 1 << 24));
  gen_tf->add_option("--batch", tf_batch, "sequences (default 1)")->check(CLI::Range(1, 1 << 20));
  gen_tf->add_flag("--split-heads", tf_split_heads, "one branch per attention head");
  gen_tf
      ->add_option("--context", tf_context,
                   "decode step: positions already in the KV cache (default 0 = a prefill of --seq tokens)")
      ->check(CLI::Range(0, 1 << 24));
  gen_tf
      ->add_option("--cache", tf_cache,
                   "room in each sequence's KV cache, positions (default: what the pass holds, context + seq; a "
                   "server keeps prompt + output)")
      ->check(CLI::Range(0, 1 << 24));
  gen_tf->add_flag("--last-logits-only", tf_last_logits,
                   "the LM head computes the last position's logits only and returns the sampled token (serving)");
  for (auto* g : {gen_random, gen_chain, gen_rwnn, gen_tf}) {
    g->add_option("--seed", gen_seed, "random seed");
    g->add_option("--output,-o", gen_out, "graph file to write ('-': standard output)")->required();
    g->footer(std::string("Example:\n  diviml gen ") + g->get_name() + " -o G.json");
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; every other parse error is a usage error (2).
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (plan->parsed()) return run_plan(a);
  if (serve->parsed()) return cli::run_serve(serve_args);
  if (compare->parsed() && tradeoff) {
    if (!solvers.empty()) return usage("--tradeoff runs auto at every point; it takes no --solvers");
    if (compare->get_option("--objective")->count() > 0 && a.objective != "throughput")
      return usage("--tradeoff is about throughput plans; leave --objective out or make it throughput");
    if (a.options.max_latency_us > 0)
      return usage("--tradeoff sets its own latency limits; leave --max-latency-us out");
    return run_tradeoff(a, out_dir, compare_json);
  }
  if (compare->parsed()) return run_compare(a, solvers, out_dir, compare_json);
  if (val->parsed()) return run_validate(vgraph, vplatform, vplan, vobjective);
  if (reb->parsed()) {
    if (Status s = check_solver(rb.replan); !s) return die(s.error());
    return run_rebalance(rb);
  }
  if (gantt->parsed()) return run_gantt(ggraph, gplatform, gplan, gout, gtrace, ghtml);
  if (opts->parsed()) {
    if (options_markdown_out) {
      std::fputs(options_markdown().c_str(), stdout);
      return 0;
    }
    const SolveOptions defaults;
    for (const OptionInfo& info : option_registry())
      std::printf("  --%-20s %-7s default %-8s %s\n", info.name.c_str(), info.group.c_str(),
                  option_value_text(defaults, info).c_str(), info.help.c_str());
    return 0;
  }
  if (costs->parsed()) {
    auto g = read_graph_arg(cgraph);
    if (!g) return die(g.error());
    auto p = load_platform_arg(cplatform);
    if (!p) return die(p.error());
    auto table = cost_comparison(*g, *p, cdevice);
    if (!table) return die(prefixed(cgraph + ": ", table.error()));
    std::printf("graph %s, device %s of platform %s\n%s", g->name.c_str(), cdevice.c_str(), p->name.c_str(),
                table->c_str());
    return 0;
  }
  if (imp->parsed()) {
    OnnxImportOptions o;
    for (const std::string& d : onnx_dims) {
      auto eq = d.find('=');
      long long value = 0;
      size_t used = 0;
      const std::string digits = eq == std::string::npos ? "" : d.substr(eq + 1);
      try {
        value = std::stoll(digits, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (eq == std::string::npos || eq == 0 || used == 0 || used != digits.size() || value <= 0 || value > kMaxDim)
        return usage("--dim '" + d + "' must look like NAME=N with N a whole number from 1 to " +
                     std::to_string(kMaxDim));
      o.dims[d.substr(0, eq)] = value;
    }
    o.fold_batchnorm = !onnx_keep_bn;
    Result<Graph> g = fail("no model");
    if (onnx_in == "-") {
      auto bytes = read_stdin_once();
      if (!bytes) return die(bytes.error());
      g = import_onnx_bytes(*bytes, kStdinName, o);
    } else {
      g = import_onnx(onnx_in, o);
    }
    if (!g) return die(g.error());
    if (!onnx_name.empty()) g->name = onnx_name;
    if (Status s = write_output(onnx_out, graph_to_json(*g)); !s) return die(s.error());
    std::fprintf(info_stream({onnx_out}), "%s: %d nodes, %d edges\n", shown(onnx_out).c_str(), g->num_nodes(),
                 g->num_edges());
    return 0;
  }
  if (gen->parsed()) {
    Graph g;
    // Documented limits: graphs of at most about 5e7 edges / 1e6 branches.
    if (gen_random->parsed() && 0.5 * gen_nodes * static_cast<double>(gen_nodes) * gen_p > 5e7)
      return usage("gen random: --nodes and --edge-prob give over 5e7 expected edges");
    if (gen_chain->parsed() && static_cast<double>(gen_modules) * gen_width > 1e6)
      return usage("gen chain: --modules times --width must stay within 1e6");
    if (gen_random->parsed()) g = random_dag(gen_nodes, gen_p, gen_seed);
    if (gen_chain->parsed()) g = module_chain(gen_modules, gen_width, gen_seed, gen_skip);
    if (gen_rwnn->parsed() || gen_tf->parsed()) {
      rw.seed = gen_seed;
      TransformerSpec tf;
      if (gen_tf->parsed()) {
        auto spec = cli::model_from_flags(tf_flags);
        if (!spec) return die(spec.error());
        tf = *spec;
        tf.seq = tf_seq, tf.batch = tf_batch, tf.context = tf_context, tf.cache_positions = tf_cache;
        tf.split_heads = tf_split_heads, tf.last_logits_only = tf_last_logits;
      }
      auto r = gen_rwnn->parsed() ? rwnn(rw) : transformer(tf);
      if (!r) return die(r.error());
      g = std::move(*r);
    }
    if (Status s = write_output(gen_out, graph_to_json(g)); !s) return die(s.error());
    std::fprintf(info_stream({gen_out}), "%s: %d nodes, %d edges\n", shown(gen_out).c_str(), g.num_nodes(),
                 g.num_edges());
    return 0;
  }
  return run_platforms();
}

int main(int argc, char** argv) {
  // The last resort: the library never throws, so anything caught here is our bug; it still
  // gets one line and the internal-error exit code rather than an abort.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return die(internal_error(std::string("internal error: ") + e.what()));
  } catch (...) {
    return die(internal_error("internal error: unknown exception"));
  }
}
