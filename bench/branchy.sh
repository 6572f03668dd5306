#!/usr/bin/env bash
# Plans and bounds on branchy graphs, before and after (issue 17), side by side in one run.
#   bash bench/branchy.sh [BEFORE_REV (default b1f940f, main before issue 17)] [EXTRA_OPTIONS...]
# Builds BEFORE_REV in a temporary git worktree (Release; or takes DIVIML_BEFORE=path/to/diviml),
# uses build/diviml as "after". Per graph, on cpu-2gpu (roofline costs), --threads 1, default
# options otherwise (EXTRA_OPTIONS go to the "after" runs only): heft, and `auto` (the default
# solver) and `split` with each build: plan, bound, plan / bound, solve seconds. The two builds
# alternate per graph, so machine noise hits both alike. Graphs: the branchy set (GoogLeNet,
# Inception-v3, the bundled RWNN, and RWNN WS with N in {16, 32} nodes per stage, S in {1, 2, 4}
# stages, seeds 1-2), then every other bundled torchvision model. Geometric means of plan / bound
# over the branchy set and the worst solve time over the torchvision models close the table.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rev="${1:-b1f940f}"
shift || true
extra=("$@")
after="$root/build/diviml"
work="$(mktemp -d)"
trap 'git -C "$root" worktree remove --force "$work/before" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
before="${DIVIML_BEFORE:-}"
[ -n "$before" ] || before="$(bash "$root/bench/build_rev.sh" "$rev" "$work/before")"
mkdir -p "$work/g"
branchy=(googlenet inception_v3 rwnn_ws_n32_s3)
cp "$root/models/googlenet.json" "$root/models/inception_v3.json" "$root/models/rwnn_ws_n32_s3.json" "$work/g/"
for st in 1 2 4; do for n in 16 32; do for s in 1 2; do
  "$after" gen rwnn --nodes "$n" --stages "$st" --seed "$s" -o "$work/g/rwnn-ws_N${n}_S${st}_s${s}.json" >/dev/null
  branchy+=("rwnn-ws_N${n}_S${st}_s${s}")
done; done; done
others=()
for f in "$root"/models/*.json; do
  name="$(basename "$f" .json)"
  case "$name" in gpt2_*|rwnn_*|googlenet|inception_v3) continue ;; esac  # torchvision models only
  cp "$f" "$work/g/"
  others+=("$name")
done
python3 - "$before" "$after" "$work" "${#branchy[@]}" "${branchy[@]}" "${others[@]}" -- "${extra[@]}" <<'PY'
import json, math, subprocess, sys
before, after, work, nb = sys.argv[1:5]
rest = sys.argv[5:]
cut = rest.index("--")
names, extra = rest[:cut], rest[cut + 1:]
branchy = set(names[: int(nb)])

def plan(binary, graph, solver, opts=()):
    out = f"{work}/p.json"
    subprocess.run([binary, "plan", "-g", graph, "-p", "cpu-2gpu", "-s", solver, "--threads", "1", "-q", "-o", out,
                    *opts], check=True)
    p = json.load(open(out))
    return p["makespan_us"], p["lower_bound_us"], p["solve_time_s"], p["status"]

print("| graph | ops | heft us | before: auto us | bound us | plan / bound | s | after: auto us | bound us | "
      "plan / bound | s | status | split before: plan / bound | s | split after: plan / bound | s | "
      "auto after / heft |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
ratios = {"before": [], "after": [], "split before": [], "split after": []}
slowest = {"before": (0, ""), "after": (0, "")}
worse_than_heft = []
for name in names:
    g = f"{work}/g/{name}.json"
    ops = len(json.load(open(g))["nodes"])
    heft = plan(after, g, "heft")[0]
    ab = plan(before, g, "auto")
    aa = plan(after, g, "auto", extra)
    sb = plan(before, g, "split")
    sa = plan(after, g, "split", extra)
    if name in branchy:
        ratios["before"].append(ab[0] / ab[1]); ratios["after"].append(aa[0] / aa[1])
        ratios["split before"].append(sb[0] / sb[1]); ratios["split after"].append(sa[0] / sa[1])
    else:
        slowest["before"] = max(slowest["before"], (ab[2], name))
        slowest["after"] = max(slowest["after"], (aa[2], name))
    if aa[0] > heft * (1 + 1e-9) or sa[0] > heft * (1 + 1e-9):
        worse_than_heft.append(name)
    print(f"| {name}{' (branchy)' if name in branchy else ''} | {ops} | {heft:.1f} | {ab[0]:.1f} | {ab[1]:.1f} | "
          f"{ab[0] / ab[1]:.3f} | {ab[2]:.2f} | {aa[0]:.1f} | {aa[1]:.1f} | {aa[0] / aa[1]:.3f} | {aa[2]:.2f} | "
          f"{aa[3]} | {sb[0] / sb[1]:.3f} | {sb[2]:.2f} | {sa[0] / sa[1]:.3f} | {sa[2]:.2f} | {heft / aa[0]:.3f}x |",
          flush=True)

def geomean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")

print()
print(f"Branchy set ({len(ratios['after'])} graphs), geometric mean of plan / bound: auto {geomean(ratios['before']):.3f} "
      f"before, {geomean(ratios['after']):.3f} after; split {geomean(ratios['split before']):.3f} before, "
      f"{geomean(ratios['split after']):.3f} after.")
print(f"Slowest other torchvision model (auto): {slowest['before'][0]:.2f} s before ({slowest['before'][1]}), "
      f"{slowest['after'][0]:.2f} s after ({slowest['after'][1]}).")
print("Worse than heft: " + (", ".join(worse_than_heft) if worse_than_heft else "none") + ".")
PY
