"""How the tests run the package's tools, as a user would: `python3 -m diviml.<tool>` with the
interpreter that runs pytest, the package imported like an installed one (CTest puts the built
package, build/python, on PYTHONPATH; an installed one needs nothing). The tiny models of the
tests (tiny_models.py, beside this file) are importable by the tools through env()."""
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
PY = sys.executable
EXPORT = [PY, "-m", "diviml.export"]
EXECUTE = [PY, "-m", "diviml.execute"]
CALIBRATE = [PY, "-m", "diviml.calibrate"]
PROFILE = [PY, "-m", "diviml.profile"]


def env(**extra):
    """The environment for a tool: this folder ahead of PYTHONPATH (for --module tiny_models:...)."""
    paths = [str(HERE)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), **extra)
