"""One model, two paths: the FX export and torch.onnx's export imported by `diviml import` describe
the same computation (docs/formats.md, "One model, one graph"): total FLOPs within 1% and the
makespans `diviml plan` finds (solver auto, default platform) within 10%, for every model of
python/torchvision_coverage.PATH_MODELS. The two exports share no code: torch.fx with our
exporter's rules on one side, torch.onnx and the C++ importer's folding and fusion on the other."""
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchvision")

from conftest import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT / "python"))
import torchvision_coverage as tc  # noqa: E402


@pytest.mark.parametrize("name", tc.PATH_MODELS)
def test_fx_and_onnx_paths_agree(name, diviml_bin, tmp_path):
    r = tc.both_paths(name, tmp_path, diviml_bin)
    assert tc.relative(r["fx_gflops"], r["onnx_gflops"]) <= tc.FLOPS_TOLERANCE, r
    assert tc.relative(r["fx_us"], r["onnx_us"]) <= tc.MAKESPAN_TOLERANCE, r
