"""`--html`: the self-contained report, opened in a real headless browser (Debian's chromium).
Each page must load without a console message, draw every node of the graph as an element with
data-node="ID", pass its own hover self-test (report.html#selftest: the tooltip of an op lists
its cost on every device), fetch nothing, and render a screenshot that is not blank."""
import html.parser
import json
import re
import shutil
import subprocess

import pytest

# As root, chromium needs --no-sandbox; the rest keep it from reaching for the network.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--enable-logging=stderr", "--v=0"]


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium")
    if path is None:
        pytest.fail("chromium not found: scripts/setup.sh installs Debian's chromium for this test")
    return path


def run(*args):
    r = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r


class Dom(html.parser.HTMLParser):
    """The body's attributes and every data-node value of the DOM after the scripts ran."""

    def __init__(self):
        super().__init__()
        self.body = {}
        self.nodes = []
        self.tags = 0

    def handle_starttag(self, tag, attrs):
        self.tags += 1
        a = dict(attrs)
        if tag == "body":
            self.body = a
        if "data-node" in a and a.get("class") == "op":
            self.nodes.append(a["data-node"])


def browse(chromium, page, tmp_path):
    """Loads `page` (with #selftest): the DOM after scripts, and chromium's console lines."""
    r = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                        page.as_uri() + "#selftest"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line]
    dom = Dom()
    dom.feed(r.stdout)
    return dom, console


def screenshot(chromium, page, tmp_path):
    shot = tmp_path / (page.stem + ".png")
    r = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
                        f"--screenshot={shot}", "--window-size=1400,1000", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    from PIL import Image  # python3-pil, which python3-torchvision depends on
    img = Image.open(shot).convert("RGB")
    pixels = list(img.getdata())
    not_white = sum(1 for p in pixels if min(p) < 235)
    return len(set(pixels)), not_white / len(pixels)


def check_page(chromium, page, graph, tmp_path):
    text = page.read_text()
    # One file, nothing fetched: no external scripts, styles, images or imports.
    assert not re.search(r"""<(script|link|img|iframe)[^>]*\s(src|href)\s*=""", text), "external reference"
    assert "@import" not in text and "url(" not in text
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", text), "an address other than the SVG namespace"
    dom, console = browse(chromium, page, tmp_path)
    assert console == [], console
    assert dom.body.get("data-status") == "ready", dom.body
    assert dom.body.get("data-selftest") == "ok", dom.body
    ids = [n["id"] for n in graph["nodes"]]
    assert sorted(set(dom.nodes)) == sorted(ids)  # every node appears (once per lane)
    assert len(dom.nodes) % len(ids) == 0
    colours, inked = screenshot(chromium, page, tmp_path)
    assert colours > 20 and inked > 0.03, (colours, inked)
    return dom


def test_a_split_plan_with_modules_and_comparison(diviml_bin, root, chromium, tmp_path):
    g = root / "models" / "googlenet.json"
    page = tmp_path / "split.html"
    run(diviml_bin, "plan", "-g", g, "-s", "split", "--time-limit", "5", "-o", tmp_path / "p.json", "--html", page, "-q")
    data = embedded(page)
    assert data["modules"] and data["comparison"]["solvers"][0]["solver"] == "split"
    assert data["comparison"]["solvers"][1]["solver"] == "fastest"  # the table's reference row
    plan = json.loads((tmp_path / "p.json").read_text())
    assert data["makespan_us"] == pytest.approx(plan["makespan_us"])
    assert data["lower_bound_us"] == pytest.approx(plan["lower_bound_us"])
    assert len(data["copies"]) == len(plan["transfers"]) + len(plan.get("host_transfers", []))
    check_page(chromium, page, json.loads(g.read_text()), tmp_path)


class Texts(html.parser.HTMLParser):
    """The text of every element with an id of interest, and every table cell's text."""

    def __init__(self, ids):
        super().__init__()
        self.ids, self.stack, self.text, self.cells, self.paths = ids, [], {}, [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append(a.get("id") if a.get("id") in self.ids else (tag == "td" and "td"))
        if a.get("class") == "path-op":
            self.paths += 1

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        for key in self.stack:
            if key == "td":
                self.cells.append(data)
            elif key:
                self.text[key] = self.text.get(key, "") + data


def test_a_throughput_plan_shows_its_period_and_lanes(diviml_bin, root, chromium, tmp_path):
    g = root / "models" / "resnet18.json"
    page = tmp_path / "stream.html"
    run(diviml_bin, "plan", "-g", g, "--objective", "throughput", "-s", "replicas", "-o", tmp_path / "t.json",
        "--html", page, "-q")
    data = embedded(page)
    plan = json.loads((tmp_path / "t.json").read_text())
    assert plan["lanes"] > 1 and data["lanes"] == plan["lanes"]
    assert data["period_us"] == pytest.approx(plan["period_us"])
    assert data["memory_span_us"] == pytest.approx(plan["lanes"] * plan["period_us"])
    dom = check_page(chromium, page, json.loads(g.read_text()), tmp_path)
    assert len(dom.nodes) == plan["lanes"] * len(json.loads(g.read_text())["nodes"])


def test_a_throughput_page_speaks_periods(diviml_bin, root, chromium, tmp_path):
    """A pipelined plan with delays: the title says period (bound) and latency, the chart marks the
    period, one input's path is drawn end to end up to its latency, and no time shown is negative."""
    g = root / "models" / "googlenet.json"
    page = tmp_path / "pipe.html"
    run(diviml_bin, "plan", "-g", g, "--objective", "throughput", "-s", "balance", "--time-limit", "3",
        "-o", tmp_path / "t.json", "--html", page, "-q")
    plan = json.loads((tmp_path / "t.json").read_text())
    assert any(p.get("delay", 0) > 0 for p in plan["placements"])  # ops of older inputs in the round
    check_page(chromium, page, json.loads(g.read_text()), tmp_path)
    r = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--dump-dom",
                        page.as_uri()], capture_output=True, text=True, timeout=120)
    texts = Texts({"subtitle", "gantt", "path", "ops"})
    texts.feed(r.stdout)
    sub = texts.text["subtitle"]
    assert sub.startswith("period ") and "(bound " in sub and "latency " in sub, sub
    assert texts.paths == len(json.loads(g.read_text())["nodes"])  # every op of lane 0 on the path
    assert 'class="period' in r.stdout
    path_end = float(re.search(r'data-path-end="([0-9.e+]+)"', r.stdout).group(1))
    assert path_end == pytest.approx(plan["latency_us"], rel=0.05)
    times = [c for c in texts.cells if re.match(r"^-?[0-9.]+ (\u00b5s|ms|s)$", c)]
    assert times and not any(c.startswith("-") for c in times), [c for c in times if c.startswith("-")][:5]


def test_the_tradeoff_page_draws_period_against_latency(diviml_bin, root, chromium, tmp_path):
    g = root / "models" / "resnet18.json"
    page = tmp_path / "tradeoff.html"
    r = run(diviml_bin, "compare", "-g", g, "--tradeoff", "--time-limit", "2", "--html", page)
    assert "latency plan: makespan" in r.stdout and "none" in r.stdout
    data = embedded(page)
    points = data["tradeoff"]["points"]
    assert [p["factor"] for p in points] == [1, 1.5, 2, 4, 0]
    planned = [p for p in points if "period_us" in p]
    assert planned and all(p["latency_us"] <= p["max_latency_us"] * (1 + 1e-9) for p in planned if p["max_latency_us"])
    assert all(p["lower_bound_us"] <= p["period_us"] * (1 + 1e-9) for p in planned)
    check_page(chromium, page, json.loads(g.read_text()), tmp_path)
    r = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile2'}", "--dump-dom",
                        page.as_uri()], capture_output=True, text=True, timeout=120)
    assert 'id="tradeoff"' in r.stdout and r.stdout.count('class="point"') == len(planned)


def test_compare_reports_the_best_plan_with_the_whole_table(diviml_bin, root, chromium, tmp_path):
    g = tmp_path / "rwnn.json"
    run(diviml_bin, "gen", "rwnn", "--nodes", "12", "--stages", "2", "-o", g)
    page = tmp_path / "compare.html"
    r = run(diviml_bin, "compare", "-g", g, "--solvers", "fastest,heft,split", "--time-limit", "5", "--html", page)
    assert "report of the best plan" in r.stdout
    data = embedded(page)
    rows = data["comparison"]["solvers"]
    assert [x["solver"] for x in rows] == ["fastest", "heft", "split"]
    assert data["makespan_us"] == pytest.approx(min(x["makespan_us"] for x in rows))
    check_page(chromium, page, json.loads(g.read_text()), tmp_path)


def test_gantt_draws_any_plan_file_and_odd_ids_stay_text(diviml_bin, chromium, tmp_path):
    # Node ids that would break out of a <script> or inject markup if pasted as HTML.
    odd = ["a</script><script>throw 1</script>", "b&amp;<b>bold</b>", "c\"'<!--", "d \u00b5s \u2192 \u6f22"]
    graph = {"format": "diviml.graph/1", "name": "odd</title>",
             "nodes": [{"id": n, "op": "conv2d", "flops": 1e9 * (i + 1), "bytes_accessed": 1e6, "output_bytes": 4e5}
                       for i, n in enumerate(odd)],
             "edges": [{"src": odd[0], "dst": odd[1]}, {"src": odd[0], "dst": odd[2]}, {"src": odd[1], "dst": odd[3]},
                       {"src": odd[2], "dst": odd[3]}]}
    g = tmp_path / "odd.json"
    g.write_text(json.dumps(graph))
    run(diviml_bin, "plan", "-g", g, "-s", "heft", "-o", tmp_path / "p.json", "-q")
    page = tmp_path / "odd.html"
    run(diviml_bin, "gantt", "-g", g, tmp_path / "p.json", "--html", page)
    assert embedded(page)["graph"] == "odd</title>"
    dom = check_page(chromium, page, graph, tmp_path)
    assert dom.body.get("data-ops") == str(len(odd))


def test_html_to_standard_output(diviml_bin, root, tmp_path):
    g = root / "models" / "resnet18.json"
    r = run(diviml_bin, "plan", "-g", g, "-s", "heft", "-o", tmp_path / "p.json", "--html", "-")
    assert r.stdout.startswith("<!DOCTYPE html>") and r.stdout.rstrip().endswith("</html>")
    assert "plan written to" in r.stderr  # messages move to stderr
    bad = subprocess.run([diviml_bin, "plan", "-g", g, "-o", "-", "--html", "-"], capture_output=True, text=True)
    assert bad.returncode == 2 and "standard output" in bad.stderr


def embedded(page):
    """The report's data block, as the page's script reads it."""
    text = page.read_text()
    m = re.search(r'<script type="application/json" id="diviml-data">(.*?)</script>', text, re.S)
    assert m, "no data block"
    assert "</" not in m.group(1)
    return json.loads(m.group(1))
