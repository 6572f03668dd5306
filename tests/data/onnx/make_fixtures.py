#!/usr/bin/env python3
"""Writes the small ONNX fixtures of the C++ importer tests (needs python3-onnx).

    /usr/bin/python3 tests/data/onnx/make_fixtures.py

small_cnn.onnx   Conv(3->8, 3x3) -> Relu -> {Conv 1x1 | identity} -> Add -> Flatten -> Gemm(512->10)
dynamic.onnx     the same with a symbolic batch dimension "N"
custom_op.onnx   Relu -> FancyOp -> MysteryOp (ops the importer does not know)
"""
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = pathlib.Path(__file__).resolve().parent


def weights(name, shape):
    rng = np.random.default_rng(0)
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def small_cnn(batch):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 10])
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", kernel_shape=[1, 1]),
        helper.make_node("Add", ["r1", "c2"], ["s"], name="add"),
        helper.make_node("Flatten", ["s"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    inits = [weights("w1", [8, 3, 3, 3]), weights("b1", [8]), weights("w2", [8, 8, 1, 1]),
             weights("wf", [10, 512]), weights("bf", [10])]
    graph = helper.make_graph(nodes, "small_cnn", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def custom_op():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu"),
             helper.make_node("FancyOp", ["a"], ["b"], name="fancy", domain="example.ops"),
             helper.make_node("MysteryOp", ["b"], ["y"], name="mystery", domain="example.ops")]
    graph = helper.make_graph(nodes, "custom", [x], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("example.ops", 1)])


if __name__ == "__main__":
    onnx.save(small_cnn(1), HERE / "small_cnn.onnx")
    onnx.save(small_cnn("N"), HERE / "dynamic.onnx")
    onnx.save(custom_op(), HERE / "custom_op.onnx")
    print("wrote", ", ".join(p.name for p in sorted(HERE.glob("*.onnx"))))
