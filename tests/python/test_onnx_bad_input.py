"""Malformed ONNX models: each one gets one line naming the node or tensor and exit 1; never a
crash, never an edge dropped in silence. Unsorted nodes are sorted (same graph as sorted)."""
import json
import subprocess

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import numpy as np  # noqa: E402


def init(name, shape):
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def model(nodes, inputs=None, outputs=None, inits=(), check=False):
    inputs = inputs if inputs is not None else [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])]
    outputs = outputs if outputs is not None else [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])]
    g = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def run_import(diviml_bin, tmp_path, m=None, raw=None, extra=()):
    path = tmp_path / "m.onnx"
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_bytes(m.SerializeToString())
    r = subprocess.run([diviml_bin, "import", str(path), "-o", str(tmp_path / "g.json"), *extra],
                       capture_output=True, text=True, timeout=60)
    return r


def expect_error(r, fragment, code=1):
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("diviml: error: "), r.stderr
    assert "internal error" not in r.stderr
    assert fragment in r.stderr, r.stderr


def relu_chain():
    return [helper.make_node("Relu", ["x"], ["a"], name="r1"), helper.make_node("Relu", ["a"], ["y"], name="r2")]


def test_truncated_protobuf(diviml_bin, tmp_path):
    whole = model(relu_chain()).SerializeToString()
    expect_error(run_import(diviml_bin, tmp_path, raw=whole[: len(whole) // 2]), "not an ONNX model")


def test_garbage_bytes(diviml_bin, tmp_path):
    expect_error(run_import(diviml_bin, tmp_path, raw=b"\xff" * 64), "not an ONNX model")


def test_missing_initializer(diviml_bin, tmp_path):
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")])
    expect_error(run_import(diviml_bin, tmp_path, m), "node 'mm' reads tensor 'w', which no node writes")


def test_rank0_gemm_operand(diviml_bin, tmp_path):
    m = model([helper.make_node("Gemm", ["s", "w"], ["y"], name="fc")],
              inputs=[helper.make_tensor_value_info("s", TensorProto.FLOAT, [])],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits=[init("w", [4, 4])])
    r = run_import(diviml_bin, tmp_path, m)
    assert r.returncode == 1, r.stderr
    assert "internal error" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert "fc" in r.stderr or "shape inference" in r.stderr, r.stderr


def test_conv_without_weight(diviml_bin, tmp_path):
    m = model([helper.make_node("Conv", ["x"], ["y"], name="conv")],
              inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    r = run_import(diviml_bin, tmp_path, m)
    assert r.returncode == 1, r.stderr
    assert "internal error" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert "conv" in r.stderr, r.stderr


def test_cycle(diviml_bin, tmp_path):
    m = model([helper.make_node("Add", ["x", "b"], ["a"], name="p"), helper.make_node("Relu", ["a"], ["b"], name="q"),
               helper.make_node("Relu", ["a"], ["y"], name="out")])
    expect_error(run_import(diviml_bin, tmp_path, m), "the graph has a cycle through node")


def test_self_loop(diviml_bin, tmp_path):
    m = model([helper.make_node("Add", ["x", "y"], ["y"], name="loop")])
    expect_error(run_import(diviml_bin, tmp_path, m), "node 'loop' reads its own output 'y'")


def test_duplicate_producer(diviml_bin, tmp_path):
    m = model([helper.make_node("Relu", ["x"], ["y"], name="one"), helper.make_node("Sigmoid", ["x"], ["y"], name="two")])
    expect_error(run_import(diviml_bin, tmp_path, m), "tensor 'y' is written by two nodes, 'one' and 'two'")


def test_output_overwrites_an_input(diviml_bin, tmp_path):
    m = model([helper.make_node("Relu", ["y"], ["x"], name="back")],
              inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4]),
                      helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    expect_error(run_import(diviml_bin, tmp_path, m), "node 'back' writes tensor 'x', which is also a model input")


def test_unsorted_nodes_are_sorted(diviml_bin, tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="r1"), helper.make_node("Sigmoid", ["a"], ["b"], name="s"),
             helper.make_node("Add", ["a", "b"], ["y"], name="add")]
    sorted_run = run_import(diviml_bin, tmp_path, model(nodes))
    assert sorted_run.returncode == 0, sorted_run.stderr
    want = json.loads((tmp_path / "g.json").read_text())
    shuffled = run_import(diviml_bin, tmp_path, model([nodes[2], nodes[0], nodes[1]]))
    assert shuffled.returncode == 0, shuffled.stderr
    got = json.loads((tmp_path / "g.json").read_text())
    assert got["edges"] == want["edges"] and len(got["edges"]) == 3
    assert [n["id"] for n in got["nodes"]] == [n["id"] for n in want["nodes"]]


def test_symbolic_dims_without_dim(diviml_bin, tmp_path):
    m = model(relu_chain(), inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])])
    expect_error(run_import(diviml_bin, tmp_path, m), "set the inputs' symbolic dimensions with --dim batch=N")
    ok = run_import(diviml_bin, tmp_path, m, extra=["--dim", "batch=2"])
    assert ok.returncode == 0, ok.stderr


def test_non_integer_dim_is_a_usage_error(diviml_bin, tmp_path):
    expect_error(run_import(diviml_bin, tmp_path, model(relu_chain()), extra=["--dim", "batch=2.5"]),
                 "must look like NAME=N", code=2)


# Garbage a model file may declare, refused before anything is inferred from it (issue 35).

def test_an_input_without_a_shape_is_not_a_scalar(diviml_bin, tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, None)
    expect_error(run_import(diviml_bin, tmp_path, model(relu_chain(), inputs=[x])), "input 'x' has no shape")


@pytest.mark.parametrize("delta", [-4, 4])
def test_raw_data_that_does_not_hold_its_shape(diviml_bin, tmp_path, delta):
    w = numpy_helper.from_array(np.zeros((4, 4), dtype=np.float32), "w")
    w.raw_data = w.raw_data[:delta] if delta < 0 else w.raw_data + b"\0" * delta
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], inits=[w])
    expect_error(run_import(diviml_bin, tmp_path, m), "initializer 'w': raw_data holds")


@pytest.mark.parametrize("kernel", [0, -3])
def test_pool_kernels_below_one(diviml_bin, tmp_path, kernel):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])
    pool = helper.make_node("MaxPool", ["x"], ["y"], name="pool", kernel_shape=[kernel, kernel])
    r = run_import(diviml_bin, tmp_path, model([pool], inputs=[x], outputs=[y]))
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "pool" in r.stderr and "internal error" not in r.stderr


def test_conv_groups_that_do_not_divide_the_channels(diviml_bin, tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    conv = helper.make_node("Conv", ["x", "w"], ["y"], name="conv", group=2 ** 62, kernel_shape=[1, 1])
    r = run_import(diviml_bin, tmp_path, model([conv], inputs=[x], outputs=[y], inits=[init("w", (4, 1, 1, 1))]))
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "conv" in r.stderr and "internal error" not in r.stderr


def test_an_empty_reshape_of_many_elements(diviml_bin, tmp_path):
    shape = numpy_helper.from_array(np.array([], dtype=np.int64), "shape")
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="r1"), helper.make_node("Reshape", ["a", "shape"], ["b"], name="rs"),
             helper.make_node("Relu", ["b"], ["y"], name="r2")]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    r = run_import(diviml_bin, tmp_path, model(nodes, outputs=[y], inits=[shape]))
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert "internal error" not in r.stderr


def test_dims_that_make_more_than_graph_files_hold(diviml_bin, tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "N"])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", "N"])
    m = model([helper.make_node("MatMul", ["x", "z"], ["y"], name="mm")], inputs=[x, z],
              outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "N"])])
    r = run_import(diviml_bin, tmp_path, m, extra=("--dim", f"N={2 ** 20}"))  # 2 N^3 = 2.3e18 FLOPs
    expect_error(r, "beyond the 1e18 graph files hold")
    r = run_import(diviml_bin, tmp_path, m, extra=("--dim", f"N={2 ** 10}"))
    assert r.returncode == 0, r.stderr  # within the limits: written, and plan reads it back
    p = subprocess.run([diviml_bin, "plan", "-g", str(tmp_path / "g.json"), "-s", "fastest", "-o", str(tmp_path / "p.json"),
                        "-q"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
