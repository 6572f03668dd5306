"""Installing as a user does: `pip install --no-build-isolation .` into a venv that sees Debian's
packages (offline: --no-index), then the package and its console commands from another folder;
and `cmake --install` of the CLI, which finds the bundled platforms and models where it is
installed, not in the source tree. The native module is built from CTest's own build folder
(DIVIML_CMAKE_BUILD_DIR), so its objects are reused, not built twice."""
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

BUILD = pathlib.Path(os.environ.get("DIVIML_BUILD_DIR") or ROOT / "build")


def run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=900, **kw)
    assert r.returncode == 0, (cmd, r.stdout[-3000:], r.stderr[-3000:])
    return r


def user_env(**extra):
    """No PYTHONPATH (the built package stays out of sight) and no data folders named."""
    drop = ("PYTHONPATH", "DIVIML_DATA_DIR", "DIVIML_PLATFORMS_DIR")
    return dict({k: v for k, v in os.environ.items() if k not in drop}, **extra)


@pytest.mark.skipif(not (BUILD / "CMakeCache.txt").exists(), reason="needs CMake's build folder")
def test_pip_install_into_a_venv_gives_the_package_and_its_commands(tmp_path):
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    py = venv / "bin" / "python"
    env = user_env(DIVIML_CMAKE_BUILD_DIR=str(BUILD))
    run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps", "-q", ROOT], env=env,
        cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import diviml; p = diviml.plan('resnet18', 'cpu-2gpu', time_limit=2, solver='heft'); "
            "print(diviml.__file__); print(diviml._native.data_dir()); print(p.status, len(p.placements))")
    out = run([py, "-c", code], env=env, cwd=elsewhere).stdout.splitlines()
    site = str(venv / "lib")
    assert out[0].startswith(site) and out[1].startswith(site), out  # the installed package, its own data
    assert out[2].split()[0] in ("heuristic", "feasible", "optimal") and int(out[2].split()[1]) > 50, out
    for tool in ["export", "execute", "calibrate", "profile"]:
        r = run([venv / "bin" / f"diviml-{tool}", "--help"], env=env, cwd=elsewhere)
        assert r.stdout.startswith(f"usage: diviml-{tool}"), r.stdout
    run([venv / "bin" / "diviml-export", "--module", "decoder:gpt2_mini", "--input-shape", "1,64,256", "-o",
         "d.json"], env=env, cwd=elsewhere)
    r = run([py, "-c", "import diviml; print(diviml.plan('d.json', time_limit=1, solver='heft').status)"],
            env=env, cwd=elsewhere)
    assert r.stdout.strip() in ("heuristic", "feasible", "optimal")
    run([py, "-m", "pip", "uninstall", "-y", "-q", "diviml"], env=env, cwd=tmp_path)
    assert not (venv / "bin" / "diviml-export").exists()


@pytest.mark.skipif(not (BUILD / "CMakeCache.txt").exists(), reason="needs CMake's build folder")
def test_cmake_install_finds_the_bundled_data_where_it_is_installed(tmp_path):
    prefix = tmp_path / "prefix"
    run(["cmake", "--install", BUILD, "--prefix", prefix])
    exe, share = prefix / "bin" / "diviml", prefix / "share" / "diviml"
    assert (share / "platforms" / "cpu-2gpu.json").exists() and (share / "models" / "resnet18.json").exists()
    # A platform only the installed data holds: found, so the data is read from the prefix.
    shutil.copy(share / "platforms" / "cpu-2gpu.json", share / "platforms" / "only-installed.json")
    run([exe, "plan", "-g", "resnet18", "-p", "only-installed", "-s", "heft", "-o", tmp_path / "p.json", "-q"],
        env=user_env(), cwd=tmp_path)
    assert (tmp_path / "p.json").exists()
    r = subprocess.run([str(exe), "plan", "-g", "nosuchnet", "-o", str(tmp_path / "q.json")], capture_output=True,
                       text=True, env=user_env(), cwd=tmp_path)
    assert r.returncode == 1 and "nosuchnet: no such graph file or bundled model (bundled: " in r.stderr, r.stderr
