"""The Python tools answer bad arguments and bad input in one line, as the CLI does (issue 35):
"TOOL: error: ...", exit 2 for arguments, 1 for input, never a traceback."""
import subprocess

import pytest
import tool_cmds

TOOLS = {"diviml-export": tool_cmds.EXPORT, "diviml-calibrate": tool_cmds.CALIBRATE,
         "diviml-execute": tool_cmds.EXECUTE, "diviml-profile": tool_cmds.PROFILE}


def tool(root, name, *args):
    return subprocess.run([*TOOLS[name], *map(str, args)], capture_output=True, text=True, timeout=300)


def one_line(r, code, fragment):
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and fragment in lines[0], r.stderr


@pytest.mark.parametrize("args, code, fragment", [
    (["--torchvision", "resnet18", "--input-shape", "7"], 1, "does not run on an input of shape [7]"),
    (["--torchvision", "resnet18", "--input-shape", "0,3,224,224"], 1, "every dimension must be at least 1"),
    (["--torchvision", "resnet18", "--input-shape", "a,b"], 1, "is not a comma-separated list"),
    (["--torchvision", "resnet18"], 2, "the following arguments are required: -o/--output"),
    (["--bogus"], 2, "diviml-export: error:"),
])
def test_export_fx(root, tmp_path, args, code, fragment):
    one_line(tool(root, "diviml-export", *args, *([] if code == 2 else ["-o", tmp_path / "g.json"])), code, fragment)


def test_export_fx_into_a_missing_folder(root, tmp_path):
    one_line(tool(root, "diviml-export", "--torchvision", "resnet18", "-o", tmp_path / "nope" / "g.json"), 1,
             "cannot write: No such file or directory")


def test_calibrate_and_execute_refuse_bad_numbers(root, tmp_path):
    one_line(tool(root, "diviml-calibrate", "--torchvision", "resnet18", "--graph", tmp_path / "g.json", "--graph-out",
                  tmp_path / "o.json", "--platform-out", tmp_path / "p.json", "--timeout", "nan"), 2,
             "'nan' must be a finite number above 0")
    one_line(tool(root, "diviml-execute", "--torchvision", "resnet18", "--bogus"), 2, "diviml-execute: error:")
    one_line(tool(root, "diviml-profile", "--bogus"), 2, "diviml-profile: error:")
