#!/usr/bin/env python3
"""Which torchvision classification models the FX exporter handles: one export per model, in a
fresh process each (a crash or a hang in one cannot hide the others), as a Markdown table.

    /usr/bin/python3 python/torchvision_coverage.py [--all] [--timeout 300] > docs/torchvision-coverage.md

Without --all, the smallest member of each family is tried (the families share their code).
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

import torchvision.models as tvm

FAMILY_REPRESENTATIVES = [
    "alexnet", "convnext_tiny", "densenet121", "efficientnet_b0", "efficientnet_v2_s", "googlenet",
    "inception_v3", "maxvit_t", "mnasnet0_5", "mobilenet_v2", "mobilenet_v3_small", "regnet_x_400mf",
    "regnet_y_400mf", "resnet18", "resnext50_32x4d", "shufflenet_v2_x0_5", "squeezenet1_0", "swin_t",
    "swin_v2_t", "vgg11", "vit_b_32", "wide_resnet50_2",
]
EXPORTER = pathlib.Path(__file__).resolve().parent / "export_fx.py"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help="every classification model, not one per family")
    ap.add_argument("--timeout", type=float, default=300)
    args = ap.parse_args()
    names = sorted(tvm.list_models(module=tvm)) if args.all else FAMILY_REPRESENTATIVES
    print("| model | result | nodes | edges | GFLOPs | weights MB | export s |")
    print("|---|---|---|---|---|---|---|")
    ok = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = pathlib.Path(tmp) / f"{name}.json"
            t0 = time.time()
            try:
                r = subprocess.run([sys.executable, str(EXPORTER), "--torchvision", name, "-o", str(out)],
                                   capture_output=True, text=True, timeout=args.timeout)
                dt = time.time() - t0
                if r.returncode == 0:
                    g = json.loads(out.read_text())
                    flops = sum(n.get("flops", 0) for n in g["nodes"]) / 1e9
                    weights = sum(n.get("param_bytes", 0) for n in g["nodes"]) / 1e6
                    print(f"| {name} | ok | {len(g['nodes'])} | {len(g['edges'])} | {flops:.2f} | {weights:.1f} | {dt:.1f} |")
                    ok += 1
                else:
                    msg = (r.stderr.strip().splitlines() or ["?"])[-1].replace("|", "/")[:160]
                    print(f"| {name} | fails: {msg} | | | | | {dt:.1f} |")
            except subprocess.TimeoutExpired:
                print(f"| {name} | timeout after {args.timeout:.0f} s | | | | | |")
            sys.stdout.flush()
    print(f"\n{ok} of {len(names)} exported.")


if __name__ == "__main__":
    main()
