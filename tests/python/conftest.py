import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# The tools run in other folders than this one: PYTHONPATH's folders (build/python) as absolute paths.
if os.environ.get("PYTHONPATH"):
    os.environ["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in os.environ["PYTHONPATH"].split(os.pathsep) if p)


@pytest.fixture(scope="session")
def diviml_bin():
    path = os.environ.get("DIVIML_BIN") or str(ROOT / "build" / "diviml")
    if not os.path.exists(path):
        pytest.fail(f"diviml binary not found at {path}: build first (bash scripts/build.sh) or set DIVIML_BIN")
    return path


@pytest.fixture(scope="session")
def root():
    return ROOT
