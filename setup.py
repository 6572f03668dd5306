"""Builds the diviml package's native module (diviml._native) with the project's CMake, and puts
the bundled platforms and models in the package (diviml/data), for

    pip install --no-build-isolation .                      # into a venv (--system-site-packages)
    pip install --no-build-isolation --break-system-packages .   # into Debian's python3

Nothing is fetched: CMake finds Debian's pybind11-dev, CBC, ONNX and the rest (scripts/setup.sh).
The module is built in build/pip (its own configuration: no tests, no benchmarks), or, with
DIVIML_CMAKE_BUILD_DIR=DIR, in a folder CMake already configured (build/, made by scripts/build.sh),
whose objects are then reused.
"""
import os
import pathlib
import re
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

ROOT = pathlib.Path(__file__).resolve().parent


def version():
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    return re.search(r"project\(diviml VERSION ([0-9.]+)", text).group(1)


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        target = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve()
        given = os.environ.get("DIVIML_CMAKE_BUILD_DIR")
        build_dir = pathlib.Path(given).resolve() if given else ROOT / "build" / "pip"
        if not (given and (build_dir / "CMakeCache.txt").exists()):
            subprocess.check_call(["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                                   "-DDIVIML_BUILD_TESTS=OFF", "-DDIVIML_BUILD_BENCH=OFF",
                                   f"-DPython_EXECUTABLE={sys.executable}"])
        print(f"setup.py: building diviml._native with CMake in {build_dir} (a few minutes on 2 cores the "
              "first time)", flush=True)
        subprocess.check_call(["cmake", "--build", str(build_dir), "-j", str(os.cpu_count() or 1),
                               "--target", "diviml_python"])
        built = sorted((build_dir / "python" / "diviml").glob("_native*.so"))
        if not built:
            raise RuntimeError(f"setup.py: CMake built no diviml/_native*.so in {build_dir}/python/diviml")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[-1], target)


class BuildPyWithData(build_py):
    """The package's Python files, and the bundled platforms and models as diviml/data."""

    def run(self):
        super().run()
        data = pathlib.Path(self.build_lib) / "diviml" / "data"
        for folder in ("platforms", "models"):
            shutil.rmtree(data / folder, ignore_errors=True)
            shutil.copytree(ROOT / folder, data / folder, ignore=shutil.ignore_patterns("*.md", "*.py"))


setup(
    version=version(),
    ext_modules=[CMakeExtension("diviml._native")],
    cmdclass={"build_ext": CMakeBuild, "build_py": BuildPyWithData},
    options={"build": {"build_base": "build/setuptools"}},
    zip_safe=False,
)
