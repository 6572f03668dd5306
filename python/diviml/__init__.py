"""DiviML from Python: plan a PyTorch model, an ONNX file or a graph on a platform.

    import torch, torchvision, diviml
    model = torchvision.models.resnet18()
    plan = diviml.plan(model, "cpu-2gpu", objective="latency", time_limit=10,
                       example_inputs=torch.randn(1, 3, 224, 224))
    print(plan.makespan, plan.bound, plan.status)      # microseconds: the objective's value and bound
    stream = diviml.plan(model, "cpu-2gpu", objective="throughput", example_inputs=torch.randn(1, 3, 224, 224))
    print(stream.period, stream.bound, stream.latency, stream.throughput)   # bound: on the period
    diviml.tradeoff(model, "cpu-2gpu", example_inputs=torch.randn(1, 3, 224, 224))  # period per latency limit
    s = diviml.serve("llama2-70b", "six-srv", prompt=2048, output=256, ttft_ms=5000, tpot_ms=100)
    print(s.tokens_per_s, s.bound_tokens_per_s, s.batch, s.baselines)   # an LLM's serving layout
    plan.placements[0]                                 # Placement(node=..., device=..., ...)
    plan.gantt("plan.svg"); plan.html("plan.html"); plan.trace("plan.trace.json")
    open("plan.json", "w").write(plan.to_json())       # the CLI's plan file (diviml.plan/1)

The planner is the C++ library (diviml._native, built with pybind11); a PyTorch module is
exported in this process with torch.fx, as `diviml-export` does (diviml.export). Errors raise diviml.Error:
InputError (a bad graph, platform or option value), UsageError (an unknown solver, objective
or option), InfeasibleError (no plan exists) or InternalError.
"""
import collections
import json
import os

try:
    from . import _native
except ImportError as e:  # python/diviml is the source; the package is built into build/python/diviml
    raise ImportError("diviml: the C++ module diviml._native is not beside this file: install the package "
                      "(pip install --no-build-isolation .) or build it (scripts/build.sh) and put build/python "
                      f"on PYTHONPATH ({e})") from None
from .tool_errors import one_line as _one_line, root_cause as _root_cause  # shared with the tools

# An installed package carries the bundled platforms and models in diviml/data (setup.py puts
# them there); a build tree's module reads the source tree's, compiled in.
_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
if os.path.isdir(os.path.join(_DATA, "platforms")):
    _native.set_data_dir(_DATA)
from ._native import (Error, InfeasibleError, InputError, InternalError, UsageError, __version__,
                      default_platform, objectives, platforms, solvers)

__all__ = ["plan", "tradeoff", "serve", "bundled_models", "Serving", "Plan", "Tradeoff", "TradeoffPoint", "Placement", "Transfer", "export", "import_onnx", "solvers", "objectives", "platforms", "default_time_limit",
           "Error", "InputError", "UsageError", "InfeasibleError", "InternalError", "__version__"]

Placement = collections.namedtuple("Placement", "node device start_us end_us lane")
Transfer = collections.namedtuple("Transfer", "src dst src_device dst_device start_us end_us lane")


class Plan:
    """A plan: where and when each op runs. Times are microseconds."""

    def __init__(self, plan_json, graph_json, platform):
        self._json = plan_json
        self._graph = graph_json
        self._platform = platform
        doc = json.loads(plan_json)
        self.doc = doc
        self.solver = doc["solver"]
        self.objective = doc.get("objective", "latency")
        self.status = doc["status"]
        self.makespan_us = doc["makespan_us"]
        self.lower_bound_us = doc["lower_bound_us"]
        self.solve_time_s = doc.get("solve_time_s", 0.0)
        self.period_us = doc.get("period_us")
        self.latency_us = doc.get("latency_us", self.makespan_us)
        self.lanes = doc.get("lanes", 1)
        self.notes = list(doc.get("notes", []))
        self.placements = [Placement(p["node"], p["device"], p["start_us"], p["end_us"], p.get("lane", 0))
                           for p in doc["placements"]]
        self.transfers = [Transfer(t["src"], t["dst"], t["from"], t["to"], t["start_us"], t["end_us"],
                                   t.get("lane", 0)) for t in doc.get("transfers", [])]

    # The objective's figures: `value`, `bound` and `gap` are the objective's own (a latency
    # plan's makespan, a throughput plan's period); `latency` and `period` say which is which.
    @property
    def value(self):
        """The objective's value, microseconds: the period for throughput plans, else the makespan."""
        return self.period_us if self.objective == "throughput" else self.makespan_us

    @property
    def bound(self):
        """A proven lower bound on the objective's value (the makespan, or the period), microseconds."""
        return self.lower_bound_us

    @property
    def gap(self):
        """(value - bound) / value, in [0, 1]: how far the objective's value can be from its optimum."""
        v = self.value
        return max(0.0, (v - self.lower_bound_us) / v) if v else 0.0

    @property
    def latency(self):
        """One input's time from injection to its last output, microseconds (a latency plan's
        makespan; a throughput plan's latency at its period)."""
        return self.latency_us

    @property
    def period(self):
        """Time between consecutive inputs in the steady state, microseconds (throughput plans; a
        latency plan runs one input at a time, so its makespan)."""
        return self.period_us if self.objective == "throughput" else self.makespan_us

    @property
    def throughput(self):
        """Inputs per second: 1e6 / period."""
        p = self.period
        return 1e6 / p if p else 0.0

    @property
    def makespan(self):
        """One input's time from start to end, microseconds (the latency objective's value; for a
        throughput plan its latency)."""
        return self.makespan_us

    @property
    def device_of(self):
        """Node id -> device name (lane 0 for throughput plans)."""
        return {p.node: p.device for p in self.placements if p.lane == 0}

    def to_json(self):
        """The plan file (diviml.plan/1), as `diviml plan -o` writes it."""
        return self._json

    def save(self, path):
        _write(path, self._json)

    def validate(self):
        """Raises diviml.Error if the plan breaks precedence, overlap, transfer or memory rules."""
        _native.validate(self._graph, self._platform, self._json)

    def gantt(self, path=None):
        """The SVG Gantt chart: written to `path` when given, returned as text otherwise."""
        return _render(self, "gantt", path)

    def trace(self, path=None):
        """The Chrome trace (Trace Event JSON, for Perfetto): written to `path`, or returned."""
        return _render(self, "trace", path)

    def html(self, path=None):
        """The self-contained HTML report: written to `path`, or returned."""
        return _render(self, "html", path)

    def __repr__(self):
        if self.objective == "throughput":
            what = f"period {self.period_us:.3f} us, latency {self.latency_us:.3f} us, {self.lanes} lane(s)"
        else:
            what = f"makespan {self.makespan_us:.3f} us"
        return (f"<diviml.Plan {self.solver} {self.status}: {what}, bound {self.lower_bound_us:.3f} us, "
                f"gap {100 * self.gap:.1f}%, {len(self.placements)} placements>")


_UNSET = object()


def default_time_limit():
    """The solve's default time limit in seconds: the CLI's `--time-limit` default (`diviml
    options`), which plan() and tradeoff() use when given none."""
    return float(_native.option_defaults()["time-limit"])


def _check_types(who, time_limit=None, solver=_UNSET, objective=_UNSET, platform=None, name=None):
    """Wrong types are usage errors (diviml.UsageError), not TypeError or ValueError."""
    import math
    if time_limit is not None and (isinstance(time_limit, bool) or not isinstance(time_limit, (int, float))
                                   or not math.isfinite(time_limit) or time_limit <= 0):
        raise UsageError(f"{who}: time_limit must be a finite number of seconds above 0, not {_one_line(repr(time_limit))}")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 200):
        raise UsageError(f"{who}: name must be a non-empty string of at most 200 characters, not "
                         f"{_one_line(repr(name))[:80]}")
    for name, value in (("solver", solver), ("objective", objective)):
        if value is not _UNSET and not isinstance(value, str):
            raise UsageError(f"{who}: {name} must be a string, not {type(value).__name__}")
    if platform is not None and not isinstance(platform, (str, os.PathLike, dict)):
        raise UsageError(f"{who}: platform must be a bundled platform's name, a file path or a dict, "
                         f"not {type(platform).__name__}")


def _render(plan, kind, path):
    text = _native.render(plan._graph, plan._platform, plan._json, kind)
    if path is None:
        return text
    _write(path, text)
    return None


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _export_graph(module, example_inputs, name=None, fold_batchnorm=True):
    """A PyTorch module's graph (a dict in the diviml.graph/1 format), traced in this process
    with torch.fx on `example_inputs` (a tensor, shapes and FLOPs are measured on it)."""
    from .export import fx as export_fx  # torch is imported only when a module is exported
    import torch
    if isinstance(example_inputs, (tuple, list)):
        if len(example_inputs) != 1:
            raise UsageError("example_inputs: the FX exporter takes models of one input tensor")
        example_inputs = example_inputs[0]
    if not isinstance(example_inputs, torch.Tensor):
        raise UsageError("example_inputs must be a torch.Tensor")
    if not isinstance(module, torch.nn.Module):
        raise UsageError(f"export: module must be a torch.nn.Module, not {type(module).__name__}")
    import contextlib
    import io
    try:
        # torch.fx prints a failing model's tracebacks before it raises: the error says it once.
        with contextlib.redirect_stderr(io.StringIO()):
            return export_fx.export(module, example_inputs, name or type(module).__name__.lower(),
                                    fold_batchnorm=fold_batchnorm)
    except Error:
        raise
    except Exception as e:  # the model's own error (or torch.fx's), as an input error of one line
        root = _root_cause(e)
        raise InputError(_one_line(f"the model does not run on example_inputs of shape {list(example_inputs.shape)} "
                                   f"or torch.fx cannot trace it: {type(root).__name__}: {root}")) from None


# `diviml.export` is the exporter's subpackage (diviml.export.fx, diviml.export.training,
# `python3 -m diviml.export`), and calling it calls _export_graph above: export/__init__.py makes
# the package callable, so diviml.export(module, example_inputs) and diviml.export.fx both work.
from . import export  # noqa: E402 (imports no torch)


def import_onnx(path, dims=None, fold_batchnorm=True):
    """An ONNX model file's graph (a dict), as `diviml import` writes it; `dims` sets symbolic
    dimensions ({"batch": 1}: whole numbers from 1 to 2^40, as `diviml import --dim`)."""
    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"import_onnx: path must be a file path, not {type(path).__name__}")
    if dims is not None and not isinstance(dims, dict):
        raise UsageError(f"import_onnx: dims must be a dict of names to whole numbers, not {type(dims).__name__}")
    checked = {}
    for k, v in (dims or {}).items():
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 2 ** 40:
            raise UsageError(_one_line(f"import_onnx: dims[{k!r}] = {v!r}: dims map names to whole numbers from 1 to 2^40"))
        checked[k] = v
    return json.loads(_native.import_onnx(os.fspath(path), checked, bool(fold_batchnorm)))


def _graph_json(model_or_graph, example_inputs, fold_batchnorm, name=None):
    text = _graph_text(model_or_graph, example_inputs, fold_batchnorm, name)
    if name is None:
        return text
    try:
        doc = json.loads(text)
    except ValueError:
        return text  # not JSON: the planner reports it, naming the file
    if isinstance(doc, dict):
        doc["name"] = name  # the reports' title
        return json.dumps(doc)
    return text


def _graph_text(model_or_graph, example_inputs, fold_batchnorm, name):
    if isinstance(model_or_graph, dict):
        return json.dumps(model_or_graph)
    if isinstance(model_or_graph, (str, os.PathLike)):
        path = os.fspath(model_or_graph)
        if path.endswith(".onnx"):
            return json.dumps(import_onnx(path, fold_batchnorm=fold_batchnorm))
        path = _native.graph_path(path)  # a bundled model's name too
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as e:
            raise InputError(_one_line(f"{path}: cannot read: {e.strerror}")) from None
        except UnicodeDecodeError:
            raise InputError(_one_line(f"{path}: not a graph file (not UTF-8 text)")) from None
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and isinstance(model_or_graph, torch.nn.Module):
        if example_inputs is None:
            raise UsageError("a PyTorch module needs example_inputs (e.g. torch.randn(1, 3, 224, 224))")
        return json.dumps(_export_graph(model_or_graph, example_inputs, name=name, fold_batchnorm=fold_batchnorm))
    raise UsageError("model_or_graph must be a torch.nn.Module, a graph dict, or a path to a graph "
                     f"(.json) or ONNX (.onnx) file, not {type(model_or_graph).__name__}")


def bundled_models():
    """The bundled models' names: diviml.plan("resnet18") plans models/resnet18.json."""
    return _native.models()


def _platform_text(platform):
    if platform is None:
        return default_platform
    if isinstance(platform, dict):
        return json.dumps(platform)
    return os.fspath(platform)


TradeoffPoint = collections.namedtuple("TradeoffPoint", "factor max_latency_us plan error")


class Tradeoff:
    """The latency-period trade-off of a model on a platform: `latency_plan` (the latency
    objective's plan, makespan L), then `points`: per latency limit (`factor` x L, 0: none) the
    best throughput plan found (`plan`, a Plan) or why there is none (`error`)."""

    def __init__(self, doc, graph_json, platform):
        self.doc = doc["tradeoff"]
        self.latency_plan = Plan(json.dumps(doc["latency_plan"]), graph_json, platform)
        self.points = []
        for p, plan_doc in zip(self.doc["points"], doc["plans"]):
            plan = Plan(json.dumps(plan_doc), graph_json, platform) if plan_doc is not None else None
            self.points.append(TradeoffPoint(p["factor"], p["max_latency_us"], plan, p.get("error")))

    def to_json(self):
        """As `diviml compare --tradeoff --json` prints it."""
        return json.dumps(self.doc, indent=1)

    def __repr__(self):
        cells = []
        for p in self.points:
            limit = f"{p.factor:g}x" if p.factor else "none"
            cells.append(f"{limit}: " + (f"{p.plan.period:.1f} us" if p.plan else "no plan"))
        return f"<diviml.Tradeoff latency {self.latency_plan.makespan:.1f} us; periods " + ", ".join(cells) + ">"


def _options(time_limit, options, who):
    opts = {} if time_limit is None else {"time-limit": repr(float(time_limit))}
    known = _native.option_names()
    for key, value in options.items():
        if key.replace("_", "-") not in known:
            names = ", ".join(n.replace("-", "_") for n in known if n != "time-limit")
            raise UsageError(_one_line(f"{who}: unknown option '{key}' (options: time_limit, {names})"))
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, (int, float, str)):
            raise UsageError(f"{who}: option {key} must be a number, not {type(value).__name__}")
        opts[key.replace("_", "-")] = str(value)
    return opts


def tradeoff(model_or_graph, platform=None, time_limit=None, example_inputs=None, fold_batchnorm=True, name=None,
             **options):
    """The latency-period trade-off (a Tradeoff): the latency plan, then the best throughput plan
    within 1, 1.5, 2 and 4 times its makespan and without a limit, each solve within
    `time_limit` seconds. Arguments as for plan()."""
    _check_types("tradeoff", time_limit=time_limit, platform=platform, name=name)
    graph_json = _graph_json(model_or_graph, example_inputs, fold_batchnorm, name)
    platform_text = _platform_text(platform)
    if "max_latency_us" in options:
        raise UsageError("tradeoff: it sets its own latency limits; leave max_latency_us out")
    doc = json.loads(_native.tradeoff(graph_json, platform_text, _options(time_limit, options, "tradeoff")))
    return Tradeoff(doc, graph_json, platform_text)


def plan(model_or_graph, platform=None, objective="latency", time_limit=None, solver="auto", example_inputs=None,
         fold_batchnorm=True, name=None, **options):
    """Plans `model_or_graph` on `platform` and returns a Plan.

    model_or_graph: a torch.nn.Module (give example_inputs), a graph dict, or a path to a graph
        file (.json) or an ONNX model (.onnx).
    platform: a bundled platform's name (diviml.platforms()), a platform file's path, or a dict;
        default cpu-2gpu.
    objective: "latency" (one input as early as possible) or "throughput" (the least period).
    time_limit: seconds for the whole solve; default the CLI's (diviml.default_time_limit(), 60 s;
        `auto` stops earlier when it proves its plan optimal). solver: one of diviml.solvers(),
        default "auto".
    name: the graph's name in the plan and its reports (default: the module's class, the ONNX
        or graph file's own name).
    options: any other solve option of `diviml options`, with underscores (threads=2,
        max_latency_us=5000, exact_module_nodes=40, ...).
    """
    _check_types("plan", time_limit=time_limit, solver=solver, objective=objective, platform=platform, name=name)
    graph_json = _graph_json(model_or_graph, example_inputs, fold_batchnorm, name)
    platform_text = _platform_text(platform)
    opts = _options(time_limit, options, "plan")
    return Plan(_native.solve(graph_json, platform_text, solver, objective, opts), graph_json, platform_text)


class Serving:
    """An LLM serving layout (diviml serve, docs/serving.md): `doc` is the diviml.serve/1 file;
    `tokens_per_s`, `bound_tokens_per_s`, `ttft_ms`, `tpot_ms`, `batch`, `mode` its figures;
    `baselines` the baselines' tokens/s by name (None: no layout meets the objectives); `passes`
    per pipeline and phase a Plan (its graph and the serving platform beside it)."""

    def __init__(self, doc):
        self.doc = doc["serve"]
        self.table = doc["table"]
        self._html = doc["html"]
        self.platform = doc["platform"]
        platform_text = json.dumps(self.platform)
        for key in ("tokens_per_s", "bound_tokens_per_s", "ttft_ms", "tpot_ms", "batch", "mode", "gap",
                    "solve_time_s"):
            setattr(self, key, self.doc[key])
        self.baselines = {b["name"]: (b["tokens_per_s"] if b["tokens_per_s"] > 0 else None)
                          for b in self.doc["baselines"]}
        self.pipelines = self.doc["pipelines"]
        self.passes = [(p["phase"], p["pipeline"], Plan(json.dumps(p["plan"]), json.dumps(p["graph"]), platform_text))
                       for p in doc["passes"]]
        self._graphs = [p["graph"] for p in doc["passes"]]

    def to_json(self):
        """The diviml.serve/1 file, as `diviml serve -o` writes it."""
        return json.dumps(self.doc, indent=1)

    def html(self, path):
        """Writes the HTML report."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self._html)

    def save(self, path):
        """Writes what `diviml serve -o PATH` writes: PATH, and beside it STEM.platform.json and
        STEM.pI.PHASE.graph.json / .plan.json for each pass."""
        stem = path[:-5] if path.endswith(".json") and len(path) > 5 else path
        base = os.path.basename(stem)
        doc = json.loads(json.dumps(self.doc))
        doc["plans"]["platform"] = base + ".platform.json"
        with open(stem + ".platform.json", "w", encoding="utf-8") as f:
            json.dump(self.platform, f, indent=1)
        for (phase, pipeline, plan), graph, entry in zip(self.passes, self._graphs, doc["plans"]["passes"]):
            side = f"{stem}.p{pipeline}.{phase}"
            with open(side + ".graph.json", "w", encoding="utf-8") as f:
                json.dump(graph, f, indent=1)
            with open(side + ".plan.json", "w", encoding="utf-8") as f:
                f.write(plan.to_json())
            entry["graph"] = os.path.basename(side) + ".graph.json"
            entry["plan"] = os.path.basename(side) + ".plan.json"
        with open(path, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)

    def __repr__(self):
        return (f"<diviml.Serving {self.tokens_per_s:.1f} tokens/s (bound {self.bound_tokens_per_s:.1f}), "
                f"TTFT {self.ttft_ms:.1f} ms, TPOT {self.tpot_ms:.2f} ms, batch {self.batch}, {self.mode}>")


_SHAPE_FIELDS = ("layers", "d_model", "heads", "kv_heads", "ffn", "vocab", "bytes_per_value")


def serve(model="llama2-70b", platform="six-srv", prompt=2048, output=256, ttft_ms=5000, tpot_ms=100, time_limit=20,
          mode="auto", memory_fraction=0.9, seed=1):
    """The serving layout of a decoder LLM with the most output tokens/s that meets the TTFT and
    TPOT objectives (a Serving), as `diviml serve` plans it.

    model: a preset's name ("gpt3-175b", "llama2-70b", "llama3-8b") or a dict of the shape
        (layers, d_model, heads, kv_heads, ffn, vocab, bytes_per_value, positions: "learned" or
        "rotary"; "preset": the preset its other fields change).
    platform: a bundled platform's name, a platform file's path, or a dict.
    mode: "auto", "colocated" or "disaggregated". Times in milliseconds, time_limit in seconds.
    """
    for name, value in (("prompt", prompt), ("output", output)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"serve: {name} must be a whole number of tokens, not {type(value).__name__}")
    for name, value in (("ttft_ms", ttft_ms), ("tpot_ms", tpot_ms), ("time_limit", time_limit),
                        ("memory_fraction", memory_fraction)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(f"serve: {name} must be a number, not {type(value).__name__}")
    if not isinstance(mode, str):
        raise UsageError(f"serve: mode must be a string, not {type(mode).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UsageError("serve: seed must be a whole number >= 0")
    preset, shape = "", {}
    if isinstance(model, str):
        preset = model
    elif isinstance(model, dict):
        for key, value in model.items():
            if key == "preset":
                if not isinstance(value, str):
                    raise UsageError("serve: model['preset'] must be a preset's name")
                preset = value
            elif key == "positions":
                if value not in ("learned", "rotary"):
                    raise UsageError("serve: model['positions'] must be 'learned' or 'rotary'")
                shape["learned_positions"] = int(value == "learned")
            elif key in _SHAPE_FIELDS:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise UsageError(f"serve: model['{key}'] must be a whole number")
                shape[key] = value
            else:
                raise UsageError(_one_line(f"serve: unknown model field '{key}' (fields: preset, positions, "
                                           + ", ".join(_SHAPE_FIELDS) + ")"))
    else:
        raise UsageError(f"serve: model must be a preset's name or a dict, not {type(model).__name__}")
    numbers = {"prompt": float(prompt), "output": float(output), "ttft_ms": float(ttft_ms),
               "tpot_ms": float(tpot_ms), "time_limit": float(time_limit), "memory_fraction": float(memory_fraction)}
    doc = json.loads(_native.serve(preset, shape, _platform_text(platform), numbers, mode, seed))
    return Serving(doc)
