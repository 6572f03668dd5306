// The C++ planner as a Python extension module (diviml._native), for python/diviml/__init__.py.
// Its surface is the interchange formats as text (graph, platform and plan JSON), so the
// Python side and the CLI read and write the same files. Solves release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "diviml/cost/problem.hpp"
#include "diviml/graph/generators.hpp"
#include "diviml/io/json_io.hpp"
#include "diviml/io/onnx_import.hpp"
#include "diviml/objective/objective.hpp"
#include "diviml/objective/validate.hpp"
#include "diviml/report/html.hpp"
#include "diviml/report/report.hpp"
#include "diviml/report/serve_report.hpp"
#include "diviml/report/trace.hpp"
#include "diviml/serve/serve.hpp"
#include "diviml/solve/options.hpp"
#include "diviml/solve/solve.hpp"
#include "diviml/solve/solver.hpp"
#include "diviml/solve/tradeoff.hpp"

namespace py = pybind11;
using namespace diviml;

namespace {

// diviml.Error and its subclasses, one per class of error (the CLI's exit codes).
py::object error_type(ErrorKind kind) {
  py::module_ m = py::module_::import("diviml._native");
  switch (kind) {
    case ErrorKind::kUsage:
      return m.attr("UsageError");
    case ErrorKind::kInfeasible:
      return m.attr("InfeasibleError");
    case ErrorKind::kInternal:
      return m.attr("InternalError");
    case ErrorKind::kInput:
      break;
  }
  return m.attr("InputError");
}

[[noreturn]] void raise(const Error& e) {
  py::object type = error_type(e.kind);
  // One line, as the CLI prints it: ids in files are arbitrary bytes (a newline, a NUL).
  PyErr_SetString(type.ptr(), one_line(e.message).c_str());
  throw py::error_already_set();
}

template <class T>
T value_or_raise(Result<T> r) {
  if (!r) raise(r.error());
  return std::move(*r);
}

// A platform given as JSON text (starts with '{'), a bundled name or a file path.
Platform platform_of(const std::string& spec) {
  if (!spec.empty() && spec.front() == '{') return value_or_raise(parse_platform(spec, "<platform>"));
  return value_or_raise(load_platform(spec.empty() ? std::string(kDefaultPlatform) : spec));
}

Problem problem_of(const std::string& graph_json, const std::string& platform) {
  Graph g = value_or_raise(parse_graph(graph_json, "<graph>"));
  return value_or_raise(Problem::build(std::move(g), platform_of(platform)));
}

std::string solve_text(const std::string& graph_json, const std::string& platform, const std::string& solver,
                       const std::string& objective, const std::map<std::string, std::string>& options) {
  Problem problem = problem_of(graph_json, platform);
  const Objective* o = find_objective(objective);
  if (!o) {
    std::string known;
    for (const auto& n : objective_names()) known += (known.empty() ? "" : ", ") + n;
    raise(usage_error("objective '" + objective + "' is not supported (supported: " + known + ")"));
  }
  SolveOptions opts;
  for (const auto& [name, text] : options)
    if (Status s = set_option(opts, name, text); !s) raise(s.error());
  SolveHooks hooks;
  hooks.objective = o;
  Result<Plan> plan = fail("not solved");
  {
    py::gil_scoped_release release;
    plan = solve(solver, problem, opts, hooks);
  }
  if (!plan) raise(plan.error());
  return plan_to_json(problem, *plan);
}

// The latency-period trade-off (solve/tradeoff.hpp) as JSON text: {"tradeoff": what
// tradeoff_json writes, "latency_plan": the latency plan file, "plans": per point its plan file or
// null}.
std::string tradeoff_text(const std::string& graph_json, const std::string& platform,
                          const std::map<std::string, std::string>& options) {
  Problem problem = problem_of(graph_json, platform);
  SolveOptions opts;
  for (const auto& [name, text] : options)
    if (Status s = set_option(opts, name, text); !s) raise(s.error());
  Result<Tradeoff> t = fail("not solved");
  {
    py::gil_scoped_release release;
    t = latency_tradeoff(problem, opts);
  }
  if (!t) raise(t.error());
  std::string out = "{\"tradeoff\": " + tradeoff_json(problem, *t) +
                    ", \"latency_plan\": " + plan_to_json(problem, t->latency) + ", \"plans\": [";
  for (size_t i = 0; i < t->points.size(); ++i)
    out += (i ? ", " : "") + (t->points[i].plan ? plan_to_json(problem, *t->points[i].plan) : std::string("null"));
  return out + "]}";
}

// Serving (serve/serve.hpp): a preset's shape (or GPT-2 small's) with `shape`'s fields over it, on
// a platform, as JSON text {"serve": the diviml.serve/1 file, "table": the CLI's table, "html": the
// report, "platform": the serving platform, "passes": [{"phase", "pipeline", "graph", "plan"}]}.
std::string serve_text(const std::string& preset, const std::map<std::string, long long>& shape,
                       const std::string& platform, const std::map<std::string, double>& numbers,
                       const std::string& mode, std::uint64_t seed) {
  ServeRequest r;
  if (!preset.empty()) r.model = value_or_raise(transformer_preset(preset));
  r.model_name = preset.empty() ? "custom" : preset;
  const std::map<std::string, int TransformerSpec::*> fields = {{"layers", &TransformerSpec::layers},
                                                                {"d_model", &TransformerSpec::d_model},
                                                                {"heads", &TransformerSpec::heads},
                                                                {"kv_heads", &TransformerSpec::kv_heads},
                                                                {"ffn", &TransformerSpec::ffn},
                                                                {"vocab", &TransformerSpec::vocab},
                                                                {"bytes_per_value", &TransformerSpec::bytes_per_value}};
  for (const auto& [name, value] : shape) {
    if (name == "learned_positions") {
      r.model.learned_positions = value != 0;
      continue;
    }
    auto f = fields.find(name);
    if (f == fields.end()) raise(usage_error("serve: unknown model field '" + name + "'"));
    if (value < 1 || value > (1LL << 24)) raise(usage_error("serve: model field " + name + " must be from 1 to 2^24"));
    r.model.*(f->second) = static_cast<int>(value);
    if (!preset.empty()) r.model_name = preset + " (changed)";
  }
  if (r.model.kv_heads > 0 && r.model.heads % r.model.kv_heads != 0)
    raise(usage_error("serve: kv_heads must divide heads"));
  if (r.model.d_model % r.model.heads != 0) raise(usage_error("serve: heads must divide d_model"));
  for (const auto& [name, value] : numbers) {
    if (name == "prompt" || name == "output") {
      if (!(value >= 1 && value <= (1 << 24)) || value != std::floor(value))
        raise(usage_error("serve: " + name + " must be a whole number of tokens from 1 to 2^24"));
      (name == "prompt" ? r.prompt : r.output) = static_cast<int>(value);
    } else if (name == "ttft_ms") {
      r.ttft_ms = value;
    } else if (name == "tpot_ms") {
      r.tpot_ms = value;
    } else if (name == "memory_fraction") {
      r.memory_fraction = value;
    } else if (name == "time_limit") {
      r.time_limit_s = value;
    } else {
      raise(usage_error("serve: unknown argument '" + name + "'"));
    }
  }
  r.mode = mode;
  r.seed = seed;
  const Platform fleet = platform_of(platform.empty() ? std::string("six-srv") : platform);
  Result<ServeResult> res = fail("not solved");
  {
    py::gil_scoped_release release;
    res = plan_serving(fleet, r);
  }
  if (!res) raise(res.error());
  ServeFileNames names;
  std::string passes;
  for (const ServePass& pass : res->passes) {
    passes += std::string(passes.empty() ? "" : ", ") + "{\"phase\": \"" + pass.phase +
              "\", \"pipeline\": " + std::to_string(pass.pipeline) +
              ", \"graph\": " + graph_to_json(pass.problem.graph()) +
              ", \"plan\": " + plan_to_json(pass.problem, pass.plan) + "}";
  }
  auto quoted = [](const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  return "{\"serve\": " + serve_json(fleet, r, *res, names) + ", \"table\": " + quoted(serve_table(fleet, r, *res)) +
         ", \"html\": " + quoted(serve_html(fleet, r, *res, names)) +
         ", \"platform\": " + platform_to_json(res->serving) + ", \"passes\": [" + passes + "]}";
}

std::string render(const std::string& graph_json, const std::string& platform, const std::string& plan_json,
                   const std::string& kind) {
  Problem problem = problem_of(graph_json, platform);
  Plan plan = value_or_raise(parse_plan(plan_json, "<plan>", problem));
  if (Status s = check_placements(problem, plan); !s) raise(s.error());
  if (kind == "gantt") return gantt_svg(problem, plan);
  if (kind == "trace") return chrome_trace(problem, plan);
  if (kind == "html") return html_report(problem, plan);
  raise(usage_error("render: unknown kind '" + kind + "' (gantt, trace or html)"));
}

// The wiring of `diviml gen rwnn`'s random stages: per stage, the edges (i, j) between its nodes
// n_i -> n_j, from the one generator (src/graph/generators.cpp) that the CLI's graphs come from,
// so that a PyTorch RWNN (diviml.models.rwnn) and the generated graph of one seed agree.
std::vector<std::vector<std::pair<int, int>>> rwnn_wiring(const std::string& model, int nodes, int stages, int k,
                                                          double p, int m, std::uint64_t seed) {
  RwnnSpec spec;
  spec.model = model;
  spec.nodes = nodes;
  spec.stages = stages;
  spec.k = k;
  spec.p = p;
  spec.m = m;
  spec.channels = 1;  // the costs are not read here, only the wiring
  spec.seed = seed;
  const Graph g = value_or_raise(rwnn(spec));
  std::map<std::string, int> id;
  for (int st = 0; st < stages; ++st)
    for (int v = 0; v < nodes; ++v) id["s" + std::to_string(st + 1) + ".n" + std::to_string(v)] = st * nodes + v;
  std::vector<std::vector<std::pair<int, int>>> wiring(static_cast<std::size_t>(stages));
  for (const Edge& e : g.edges) {
    const auto a = id.find(g.nodes[e.src].id), b = id.find(g.nodes[e.dst].id);
    if (a == id.end() || b == id.end()) continue;  // the stem, the stage outputs and the head
    wiring[static_cast<std::size_t>(a->second / nodes)].push_back({a->second % nodes, b->second % nodes});
  }
  return wiring;
}

void validate_plan(const std::string& graph_json, const std::string& platform, const std::string& plan_json) {
  Problem problem = problem_of(graph_json, platform);
  Plan plan = value_or_raise(parse_plan(plan_json, "<plan>", problem));
  if (Status s = find_objective(plan.objective)->validate(problem, plan); !s) raise(s.error());
}

std::string import_onnx_text(const std::string& path, const std::map<std::string, long long>& dims,
                             bool fold_batchnorm) {
  OnnxImportOptions o;
  for (const auto& [name, value] : dims) o.dims[name] = value;
  o.fold_batchnorm = fold_batchnorm;
  Result<Graph> g = fail("not imported");
  {
    py::gil_scoped_release release;
    g = import_onnx(path, o);
  }
  return graph_to_json(value_or_raise(std::move(g)));
}

}  // namespace

PYBIND11_MODULE(_native, m) {
  m.doc() = "DiviML's C++ planner (use the diviml package, not this module)";
  py::object base = py::reinterpret_borrow<py::object>(PyExc_Exception);
  py::object error = py::reinterpret_steal<py::object>(PyErr_NewException("diviml.Error", base.ptr(), nullptr));
  m.attr("Error") = error;
  const std::pair<const char*, const char*> kinds[] = {{"InputError", "diviml.InputError"},
                                                       {"UsageError", "diviml.UsageError"},
                                                       {"InfeasibleError", "diviml.InfeasibleError"},
                                                       {"InternalError", "diviml.InternalError"}};
  for (const auto& [attr, qualified] : kinds)
    m.attr(attr) = py::reinterpret_steal<py::object>(PyErr_NewException(qualified, error.ptr(), nullptr));
  m.attr("__version__") = DIVIML_VERSION;
  m.attr("default_platform") = kDefaultPlatform;
  m.def("solvers", &solver_names, "the solvers' names");
  m.def("objectives", &objective_names, "the objectives' names");
  m.def("platforms", &bundled_platform_names, "the bundled platforms' names");
  m.def("models", &bundled_model_names, "the bundled models' names (graph files under models/)");
  m.def(
      "graph_path", [](const std::string& spec) { return value_or_raise(graph_path(spec)); }, py::arg("spec"),
      "a graph file's path, or the bundled model's of that name (diviml.InputError when neither)");
  m.def("data_dir", &bundled_data_dir, "the folder of the bundled platforms and models");
  m.def("set_data_dir", &set_bundled_data_dir, py::arg("dir"),
        "use this folder's platforms/ and models/ as the bundled ones (the installed package's own)");
  m.def(
      "option_names",
      [] {
        std::vector<std::string> names;
        for (const OptionInfo& info : option_registry()) names.push_back(info.name);
        return names;
      },
      "the solve options' names, as the CLI spells them (time-limit, threads, ...)");
  m.def(
      "option_defaults",
      [] {
        std::map<std::string, std::string> defaults;
        const SolveOptions none;
        for (const OptionInfo& info : option_registry()) defaults[info.name] = option_value_text(none, info);
        return defaults;
      },
      "each solve option's default as text, the CLI's (one source for both)");
  m.def("solve", &solve_text, py::arg("graph_json"), py::arg("platform"), py::arg("solver"), py::arg("objective"),
        py::arg("options"), "plan a graph (JSON text) on a platform: the plan as JSON text");
  m.def("tradeoff", &tradeoff_text, py::arg("graph_json"), py::arg("platform"), py::arg("options"),
        "the latency plan, then the best throughput plan within 1, 1.5, 2 and 4 times its makespan and "
        "without a limit: JSON text");
  m.def("serve", &serve_text, py::arg("preset"), py::arg("shape"), py::arg("platform"), py::arg("numbers"),
        py::arg("mode"), py::arg("seed"),
        "serve a decoder LLM on a platform's GPUs: the layout, its baselines and bound, and its plans (JSON text)");
  m.def("render", &render, py::arg("graph_json"), py::arg("platform"), py::arg("plan_json"), py::arg("kind"),
        "a plan as an SVG Gantt chart ('gantt'), a Chrome trace ('trace') or an HTML report ('html')");
  m.def("validate", &validate_plan, py::arg("graph_json"), py::arg("platform"), py::arg("plan_json"),
        "raise diviml.Error when the plan is not valid for the graph and platform");
  m.def("rwnn_wiring", &rwnn_wiring, py::arg("model"), py::arg("nodes"), py::arg("stages"), py::arg("k"), py::arg("p"),
        py::arg("m"), py::arg("seed"),
        "the random stages' wiring of `diviml gen rwnn` (per stage, edges (i, j) between its nodes)");
  m.def("import_onnx", &import_onnx_text, py::arg("path"), py::arg("dims"), py::arg("fold_batchnorm"),
        "an ONNX model file as a graph (JSON text)");
}
