import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def diviml_bin():
    path = os.environ.get("DIVIML_BIN") or str(ROOT / "build" / "diviml")
    if not os.path.exists(path):
        pytest.fail(f"diviml binary not found at {path}: build first (bash scripts/build.sh) or set DIVIML_BIN")
    return path


@pytest.fixture(scope="session")
def root():
    return ROOT
