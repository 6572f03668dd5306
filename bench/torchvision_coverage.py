#!/usr/bin/env python3
"""torchvision coverage of DiviML's two import paths, as Markdown tables.

    PYTHONPATH=build/python python3 bench/torchvision_coverage.py [--all] [--onnx] [--timeout 300] > docs/torchvision-coverage.md

Part 1, the FX exporter: one export per model, in a fresh process each (a crash or a hang in
one cannot hide the others), with its time; with --onnx, also torch.onnx's export of the same
model through `diviml import`, and the FLOPs difference. Without --all, the smallest member of each
classification family, every segmentation and video model, and one model of each family that
is refused; with --all, every model torchvision 0.14 lists.

Part 2, one model by both paths (--paths only, or --no-paths to skip it): the FX export and
torch.onnx's export imported by `diviml import`, compared on total FLOPs and on the makespan of
`diviml plan` (solver auto, default platform). tests/python/test_model_paths.py asserts the same
comparison: FLOPs within 1%, makespans within 10%.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import torch
import torchvision.models as tvm

from diviml import tool_errors
from diviml.models import loading as export_fx

HERE = pathlib.Path(__file__).resolve().parent
EXPORTER = [sys.executable, "-m", "diviml.export"]
DEFAULT_DIVIML = HERE.parent / "build" / "diviml"

FAMILY_REPRESENTATIVES = [
    "alexnet", "convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_s", "googlenet",
    "inception_v3", "maxvit_t", "mnasnet0_5", "mobilenet_v2", "mobilenet_v3_small", "regnet_x_400mf",
    "regnet_y_400mf", "resnet18", "resnext50_32x4d", "shufflenet_v2_x0_5", "squeezenet1_0", "swin_t",
    "swin_v2_t", "vgg11", "vit_b_32", "wide_resnet50_2",
]
# The models whose two paths must agree (tests/python/test_model_paths.py).
PATH_MODELS = [
    "resnet50", "googlenet", "convnext_tiny", "inception_v3", "densenet121", "efficientnet_b3",
    "regnet_y_400mf", "shufflenet_v2_x1_0", "swin_t", "vit_b_16",
]
FLOPS_TOLERANCE = 0.01
MAKESPAN_TOLERANCE = 0.10


def model_names(everything):
    def listed(family):
        return [f"{family}.{n}" for n in tvm.list_models(module=getattr(tvm, family))]

    names = sorted(tvm.list_models(module=tvm)) if everything else list(FAMILY_REPRESENTATIVES)
    names += listed("segmentation") + listed("video")
    for family in export_fx.UNSUPPORTED_FAMILIES:
        names += listed(family) if everything else listed(family)[:1]
    return names


def fx_export(name, out, timeout):
    """(graph or None, message, seconds) of one export in a fresh process."""
    t0 = time.time()
    try:
        r = subprocess.run([*EXPORTER, "--torchvision", name, "-o", str(out)],
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timeout after {timeout:.0f} s", time.time() - t0
    dt = time.time() - t0
    if r.returncode == 0:
        return json.loads(pathlib.Path(out).read_text()), "ok", dt
    msg = (r.stderr.strip().splitlines() or ["?"])[-1].replace("diviml-export: error: ", "").replace("|", "/")
    return None, msg, dt


def onnx_export(name, out):
    """torch.onnx.export of a torchvision model (opset 14, weights included), as the user would.
    Not under no_grad: there nn.MultiheadAttention takes a fast path torch.onnx cannot export."""
    torch.manual_seed(0)
    model = export_fx.load_torchvision(name).eval()
    torch.onnx.export(model, torch.randn(*export_fx.torchvision_input(name)), str(out),
                      input_names=["x"], output_names=["y"])


def onnx_import(name, workdir, diviml, timeout):
    """(graph or None, message) of torch.onnx.export in a fresh process, then `diviml import`."""
    model, graph = pathlib.Path(workdir) / f"{name}.onnx", pathlib.Path(workdir) / f"{name}.onnx.json"
    try:
        r = subprocess.run([sys.executable, __file__, "--export-onnx", name, str(model)],
                           capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            last = (r.stderr.strip().splitlines() or ["?"])[-1]
            return None, "torch.onnx: " + last.replace("|", "/")[:140]
        r = subprocess.run([str(diviml), "import", str(model), "-o", str(graph)], capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timeout after {timeout:.0f} s"
    finally:
        model.unlink(missing_ok=True)
    if r.returncode != 0:
        return None, r.stderr.strip().replace(str(model), model.name).replace("|", "/")[:200]
    return json.loads(graph.read_text()), "ok"


def coverage_table(names, timeout, diviml=None):
    print("## The FX exporter" + (" and the ONNX path\n" if diviml else "\n"))
    if diviml:
        print("ONNX: `torch.onnx.export` (opset 14, weights included) in a fresh process, then `diviml import`; "
              "the FLOPs difference is against the FX export of the same model.\n")
    print("| model | result | input | nodes | edges | GFLOPs | weights MB | export s |" +
          (" ONNX | ONNX nodes | FLOPs diff |" if diviml else ""))
    print("|---|---|---|---|---|---|---|---|" + ("---|---|---|" if diviml else ""))
    ok = refused = onnx_ok = onnx_tried = 0
    slowest = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            g, msg, dt = fx_export(name, pathlib.Path(tmp) / "g.json", timeout)
            shape = "x".join(str(d) for d in export_fx.torchvision_input(name))
            if g is not None:
                flops = sum(n.get("flops", 0) for n in g["nodes"]) / 1e9
                weights = sum(n.get("param_bytes", 0) for n in g["nodes"]) / 1e6
                row = (f"| {name} | ok | {shape} | {len(g['nodes'])} | {len(g['edges'])} | {flops:.2f} | "
                       f"{weights:.1f} | {dt:.1f} |")
                if diviml:
                    onnx_tried += 1
                    o, why = onnx_import(name, tmp, diviml, timeout)
                    if o is not None:
                        onnx_ok += 1
                        oflops = sum(n.get("flops", 0) for n in o["nodes"]) / 1e9
                        row += f" ok | {len(o['nodes'])} | {100 * relative(flops, oflops):.2f}% |"
                    else:
                        row += f" {why} | | |"
                print(row)
                ok += 1
                slowest = max(slowest, dt)
            else:
                refused += msg.startswith("unsupported: ")
                print(f"| {name} | {msg} | | | | | | {dt:.1f} |" + (" | | |" if diviml else ""))
            sys.stdout.flush()
    print(f"\nFX: {ok} of {len(names)} exported, {refused} refused as unsupported (with the reason), "
          f"{len(names) - ok - refused} failed. Slowest export: {slowest:.1f} s (process start and model "
          "construction included).")
    if diviml:
        print(f"ONNX: {onnx_ok} of {onnx_tried} exported by torch.onnx and imported.")
    print()


def plan_makespan(diviml, graph, plan, time_limit):
    r = subprocess.run([str(diviml), "plan", "-g", str(graph), "-o", str(plan), "--time-limit", str(time_limit), "-q"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"diviml plan {graph}: {r.stderr.strip()}")
    return json.loads(pathlib.Path(plan).read_text())["makespan_us"]


def both_paths(name, workdir, diviml=DEFAULT_DIVIML, time_limit=10):
    """The same torchvision model by FX and by ONNX: nodes, GFLOPs and auto's makespan per path."""
    workdir = pathlib.Path(workdir)
    fx_path, onnx_path, onnx_graph = (workdir / f"{name}.fx.json", workdir / f"{name}.onnx",
                                      workdir / f"{name}.onnx.json")
    fx, msg, _ = fx_export(name, fx_path, 600)
    if fx is None:
        raise RuntimeError(f"diviml-export {name}: {msg}")
    onnx_export(name, onnx_path)
    r = subprocess.run([str(diviml), "import", str(onnx_path), "-o", str(onnx_graph)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"diviml import {onnx_path}: {r.stderr.strip()}")
    onnx = json.loads(onnx_graph.read_text())
    row = {"model": name}
    for path, graph, file in (("fx", fx, fx_path), ("onnx", onnx, onnx_graph)):
        row[f"{path}_nodes"] = len(graph["nodes"])
        row[f"{path}_gflops"] = sum(n.get("flops", 0) for n in graph["nodes"]) / 1e9
        row[f"{path}_us"] = plan_makespan(diviml, file, workdir / f"{name}.{path}.plan.json", time_limit)
    return row


def relative(a, b):
    return abs(a - b) / max(abs(a), abs(b), 1e-12)


def paths_table(diviml):
    print("## One model, two paths\n")
    print("The same model exported by `diviml-export` and by `torch.onnx.export` (opset 14, "
          "`diviml import`), planned by `diviml plan` (solver auto, default platform, 10 s). The rules that "
          "make the two agree are in docs/formats.md (\"One model, one graph\").\n")
    print("| model | nodes FX / ONNX | GFLOPs FX | GFLOPs ONNX | FLOPs diff | makespan FX us | makespan ONNX us "
          "| makespan diff |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in PATH_MODELS:
            try:
                r = both_paths(name, tmp, diviml)
            except Exception as e:  # a row per model, whatever happens
                print(f"| {name} | fails: {str(e).replace('|', '/')[:160]} | | | | | | |")
                continue
            print(f"| {name} | {r['fx_nodes']} / {r['onnx_nodes']} | {r['fx_gflops']:.3f} | {r['onnx_gflops']:.3f} | "
                  f"{100 * relative(r['fx_gflops'], r['onnx_gflops']):.2f}% | {r['fx_us']:.0f} | {r['onnx_us']:.0f} | "
                  f"{100 * relative(r['fx_us'], r['onnx_us']):.1f}% |")
            sys.stdout.flush()
    print()


def main():
    ap = tool_errors.ArgumentParser(prog="torchvision_coverage", description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help="every model torchvision lists, not one per family")
    ap.add_argument("--timeout", type=float, default=300, help="seconds per FX export")
    ap.add_argument("--diviml", default=str(DEFAULT_DIVIML), help="the diviml binary (for part 2)")
    part = ap.add_mutually_exclusive_group()
    part.add_argument("--paths", action="store_true", help="only part 2")
    part.add_argument("--no-paths", action="store_true", help="only part 1")
    ap.add_argument("--onnx", action="store_true", help="part 1 also exports each model to ONNX and imports it")
    ap.add_argument("--export-onnx", nargs=2, metavar=("NAME", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.export_onnx:
        onnx_export(*args.export_onnx)
        return
    print("# torchvision coverage\n")
    print("Regenerate: `PYTHONPATH=build/python python3 bench/torchvision_coverage.py --all --onnx > docs/torchvision-coverage.md` "
          f"(torch {torch.__version__}, Debian's torchvision 0.14, Python {sys.version.split()[0]}, "
          "2 cores). GFLOPs count a multiply-add as two. Export times include the process start, "
          "importing torch and building the model (shapes are propagated on the meta device).\n")
    if not args.paths:
        coverage_table(model_names(args.all), args.timeout, args.diviml if args.onnx else None)
    if not args.no_paths:
        paths_table(args.diviml)


if __name__ == "__main__":
    tool_errors.run(main, "torchvision_coverage")
