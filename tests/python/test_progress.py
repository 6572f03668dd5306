"""The status line of a long solve: redrawn in place on a terminal (a real pseudo-terminal here)
and erased at the end; absent from piped output and files; `--quiet` silences it and
`--progress` forces it as plain lines."""
import json
import os
import pty
import re
import subprocess

import pytest

STATUS = re.compile(r"split \d+\.\d / 4 s \| ")


def on_terminal(*args):
    """Runs with stdin, stdout and stderr on a pseudo-terminal: the exit code and every byte."""
    master, slave = pty.openpty()
    p = subprocess.Popen([str(a) for a in args], stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=120), out.decode()


@pytest.fixture(scope="module")
def graph(diviml_bin, tmp_path_factory):
    g = tmp_path_factory.mktemp("progress") / "rwnn.json"
    subprocess.run([diviml_bin, "gen", "rwnn", "--nodes", "24", "--stages", "3", "-o", str(g)], check=True,
                   capture_output=True)
    return g


def test_on_a_terminal_one_line_is_redrawn_then_erased(diviml_bin, graph, tmp_path):
    rc, out = on_terminal(diviml_bin, "plan", "-g", graph, "-s", "split", "--time-limit", "4",
                          "-o", tmp_path / "p.json")
    assert rc == 0, out
    frames = out.split("\r\x1b[K")
    drawn = [f for f in frames if STATUS.match(f)]
    assert len(drawn) >= 3, out[:2000]
    # Elapsed / limit, the phase with its count, best, bound and gap all show up.
    assert any(re.search(r"exact module solves \d+/\d+ \| best ", f) for f in drawn), drawn
    assert any(re.search(r"\| best \d+\.\d+ (us|ms) \| bound \d+\.\d+ (us|ms) \| gap \d+\.\d%", f) for f in drawn)
    assert all("\n" not in f for f in drawn)  # one line, never a new one
    # The line is erased before the summary: what follows the last erase is the table only.
    assert not STATUS.search(frames[-1]) and "solver" in frames[-1] and "plan written to" in frames[-1]


def test_quiet_on_a_terminal_prints_nothing(diviml_bin, graph, tmp_path):
    rc, out = on_terminal(diviml_bin, "plan", "-g", graph, "-s", "heft", "-o", tmp_path / "p.json", "--quiet")
    assert rc == 0 and out == "", out


def test_piped_output_and_files_carry_none_of_it(diviml_bin, graph, tmp_path):
    r = subprocess.run([diviml_bin, "plan", "-g", graph, "-s", "split", "--time-limit", "4", "-o", "-"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout)
    assert "\r" not in r.stdout + r.stderr and "\x1b" not in r.stdout + r.stderr
    assert not STATUS.search(r.stderr)
    r = subprocess.run([diviml_bin, "compare", "-g", graph, "--solvers", "fastest,heft"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "\r" not in r.stdout + r.stderr and "compare 1/2" not in r.stdout + r.stderr


def test_progress_forces_plain_lines_and_excludes_quiet(diviml_bin, graph, tmp_path):
    r = subprocess.run([diviml_bin, "plan", "-g", graph, "-s", "split", "--time-limit", "4", "-o", "-", "--progress"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout)  # the plan alone on standard output
    lines = [x for x in r.stderr.splitlines() if STATUS.match(x)]
    assert lines and "\r" not in r.stderr and "\x1b" not in r.stderr
    r = subprocess.run([diviml_bin, "compare", "-g", graph, "--solvers", "fastest,heft", "--progress"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and re.search(r"^compare 2/2 ", r.stderr, re.M), r.stderr
    bad = subprocess.run([diviml_bin, "plan", "-g", graph, "-o", tmp_path / "p.json", "--progress", "--quiet"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "excludes" in bad.stderr
