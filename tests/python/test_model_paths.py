"""One model, two paths: the FX export and torch.onnx's export imported by `diviml import` describe
the same computation (docs/formats.md, "One model, one graph"): total FLOPs within 1% and the
makespans `diviml plan` finds (solver auto, default platform) within 10%, for every model of
bench/torchvision_coverage.PATH_MODELS. The two exports share no code: torch.fx with our
exporter's rules on one side, torch.onnx and the C++ importer's folding and fusion on the other."""
import importlib.util

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")

from conftest import ROOT  # noqa: E402

# The bench script (not a module of the package) loaded from its file.
_spec = importlib.util.spec_from_file_location("torchvision_coverage", ROOT / "bench" / "torchvision_coverage.py")
tc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tc)


@pytest.mark.parametrize("name", tc.PATH_MODELS)
def test_fx_and_onnx_paths_agree(name, diviml_bin, tmp_path):
    r = tc.both_paths(name, tmp_path, diviml_bin)
    assert tc.relative(r["fx_gflops"], r["onnx_gflops"]) <= tc.FLOPS_TOLERANCE, r
    assert tc.relative(r["fx_us"], r["onnx_us"]) <= tc.MAKESPAN_TOLERANCE, r
