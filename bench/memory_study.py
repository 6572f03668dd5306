#!/usr/bin/env python3
"""Memory case study (docs/results.md, "Memory case study"): latency of ResNet-50, ViT-B/16 and
GPT-2 as every device's memory shrinks from unlimited to too little, for every latency solver,
side by side in one run. Each device of cpu-2gpu gets `f` times the model's weights (and
state); `f` falls from unlimited to below a third, where the weights alone no longer fit the
three devices. Writes docs/memory/memory_study.svg and prints the table.

    python3 bench/memory_study.py [TIME_LIMIT_S (default 10)]

A cell is the plan's latency in ms, "none" where the solver says no plan exists (a proven
shortfall), "not found" where it found none without a proof, "-" where the solver has no plan by
its definition (fastest needs one device that holds everything; uniform puts the model on the
two GPUs).
"""
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXE = os.path.join(ROOT, "build", "diviml")
MODELS = [("ResNet-50", "resnet50"), ("ViT-B/16", "vit_b_16"), ("GPT-2", "gpt2_small")]
SOLVERS = ["fastest", "uniform", "m-topo", "m-etf", "m-sct", "heft", "split", "auto"]
FRACTIONS = [None, 1.5, 1.0, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.37, 0.35, 0.34, 0.33, 0.3]
COLORS = {"fastest": "#999999", "uniform": "#8c564b", "m-topo": "#9467bd", "m-etf": "#e377c2", "m-sct": "#bcbd22",
          "heft": "#1f77b4", "split": "#2ca02c", "auto": "#d62728"}


def weights(graph_file):
    g = json.load(open(graph_file))
    return sum(n.get("param_bytes", 0) + n.get("state_bytes", 0) for n in g["nodes"])


def platform_with(f, w, work):
    pf = json.load(open(os.path.join(ROOT, "platforms", "cpu-2gpu.json")))
    for d in pf["devices"]:
        if f is None:
            d.pop("memory_bytes", None)
        else:
            d["memory_bytes"] = math.floor(f * w)
    path = os.path.join(work, f"pf_{f}.json")
    json.dump(pf, open(path, "w"))
    return path


def run(graph, platform, solver, limit, work):
    out = os.path.join(work, "plan.json")
    r = subprocess.run([EXE, "plan", "-g", graph, "-p", platform, "--solver", solver, "--time-limit", str(limit),
                        "-o", out, "-q"], capture_output=True, text=True)
    if r.returncode == 0:
        return json.load(open(out))["makespan_us"] / 1e3, ""
    msg = r.stderr.strip()
    if "no plan found" in msg:
        return None, "not found"
    if "no plan exists" in msg:
        return None, "none"
    if "no single device" in msg or "uniform:" in msg:
        return None, "-"
    return None, "error: " + msg[:80]


def svg(results, path):
    w, h, pad = 330, 260, 48
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{3 * w}" height="{h + 40}" '
             'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
    xs = [f for f in FRACTIONS if f is not None]
    x_of = lambda f, i0: i0 + pad + (w - pad - 12) * (1.6 - (f if f is not None else 1.6)) / (1.6 - 0.28)
    for i, (title, _) in enumerate(MODELS):
        i0 = i * w
        rows = results[title]
        vals = [v for s in SOLVERS for v, _ in rows[s] if v is not None]
        lo, hi = 0, max(vals) * 1.08 if vals else 1
        y_of = lambda v: 20 + (h - pad) * (1 - (v - lo) / (hi - lo))
        parts.append(f'<text x="{i0 + w / 2}" y="14" text-anchor="middle" font-weight="bold">{title}</text>')
        parts.append(f'<line x1="{i0 + pad}" y1="{20 + h - pad}" x2="{i0 + w - 12}" y2="{20 + h - pad}" stroke="black"/>')
        parts.append(f'<line x1="{i0 + pad}" y1="20" x2="{i0 + pad}" y2="{20 + h - pad}" stroke="black"/>')
        for t in range(5):
            v = lo + (hi - lo) * t / 4
            parts.append(f'<text x="{i0 + pad - 4}" y="{y_of(v) + 4:.1f}" text-anchor="end">{v:.2g}</text>')
        for f in [1.6, 1.0, 0.6, 0.4, 0.3]:
            label = "unl." if f == 1.6 else f"{f:g}"
            parts.append(f'<text x="{x_of(f if f != 1.6 else None, i0):.1f}" y="{20 + h - pad + 14}" '
                         f'text-anchor="middle">{label}</text>')
        parts.append(f'<text x="{i0 + (w + pad) / 2}" y="{20 + h - pad + 28}" text-anchor="middle">'
                     'memory per device / model weights</text>')
        parts.append(f'<text x="{i0 + 12}" y="{20 + (h - pad) / 2}" transform="rotate(-90 {i0 + 12} '
                     f'{20 + (h - pad) / 2})" text-anchor="middle">latency ms</text>')
        for s in SOLVERS:
            pts = [(x_of(f, i0), y_of(v)) for f, (v, _) in zip(FRACTIONS, rows[s]) if v is not None]
            if len(pts) > 1:
                parts.append('<polyline fill="none" stroke-width="1.5" stroke="{}" points="{}"/>'.format(
                    COLORS[s], " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)))
            for x, y in pts:
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{COLORS[s]}"/>')
        # Where no plan exists (proven), a grey band.
        none_at = [f for f, (v, why) in zip(FRACTIONS, rows["heft"]) if why == "none"]
        if none_at:
            x0 = x_of(max(none_at), i0) - 4
            parts.append(f'<rect x="{x0:.1f}" y="20" width="{i0 + w - 12 - x0:.1f}" height="{h - pad}" '
                         'fill="#cccccc" opacity="0.5"/>')
            parts.append(f'<text x="{x0 + 3:.1f}" y="34">no plan</text>')
    for j, s in enumerate(SOLVERS):
        x = 40 + j * 115
        parts.append(f'<rect x="{x}" y="{h + 24}" width="12" height="3" fill="{COLORS[s]}"/>')
        parts.append(f'<text x="{x + 16}" y="{h + 30}">{s}</text>')
    parts.append("</svg>")
    open(path, "w").write("\n".join(parts) + "\n")


def main():
    limit = float(sys.argv[1]) if len(sys.argv) > 1 else 10
    results = {}
    with tempfile.TemporaryDirectory() as work:
        print("| model | memory / weights | " + " | ".join(SOLVERS) + " |")
        print("|---|---|" + "---|" * len(SOLVERS))
        for title, name in MODELS:
            graph = os.path.join(ROOT, "models", name + ".json")
            w = weights(graph)
            results[title] = {s: [] for s in SOLVERS}
            for f in FRACTIONS:
                pf = platform_with(f, w, work)
                cells = []
                for s in SOLVERS:
                    v, why = run(graph, pf, s, limit, work)
                    results[title][s].append((v, why))
                    cells.append(f"{v:.3f}" if v is not None else why)
                label = "unlimited" if f is None else f"{f:g} ({w * f / 2**20:.0f} MiB)"
                print(f"| {title} | {label} | " + " | ".join(cells) + " |", flush=True)
    svg(results, os.path.join(ROOT, "docs", "memory", "memory_study.svg"))


if __name__ == "__main__":
    main()
