#!/usr/bin/env python3
"""Writes the small ONNX fixtures of the C++ importer tests (needs python3-onnx).

    python3 tests/data/onnx/make_fixtures.py

small_cnn.onnx   Conv(3->8, 3x3) -> Relu -> {Conv 1x1 | identity} -> Add -> Flatten -> Gemm(512->10)
dynamic.onnx     the same with a symbolic batch dimension "N"
custom_op.onnx   Relu -> FancyOp -> MysteryOp (ops the importer does not know)
dynamic_hw.onnx  Conv 3x3 on an input [1, 3, H, W]: --dim H=2 makes its output empty
computed_shapes.onnx  shapes and constants computed at run time from Shape, as torch.onnx
                 writes them (chunk, flatten, Swin's padding with Mod, a ScatterND mask, a
                 Range/Where scale): every one must fold to a static shape or a constant
composites.onnx  LayerNorm, linear (MatMul + bias), GELU, SiLU written op by op
attention.onnx   multi-head self-attention op by op, as torch.onnx writes nn.MultiheadAttention
conv_bn.onnx     Conv without bias -> BatchNormalization -> Relu
einsum.onnx      torch.einsum's spaced equation "b i d, b j d -> b i j" (ONNX 1.12 infers its rank only)
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


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def floats(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.float32), name)


def dynamic_hw():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", kernel_shape=[3, 3])]
    graph = helper.make_graph(nodes, "dynamic_hw", [x], [y], [weights("w", [4, 3, 3, 3])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def computed_shapes():
    """x [1, 4, 6, 6]. Expected nodes and output bytes (float32):
    half  Relu on the first 2 of 4 channels (chunk: Slice ends = Shape[1] / 2)     288
    fc    MatMul of x flattened to [1, 144] (Reshape to Concat(Shape[0], -1))       12
    pool  MaxPool 7x7 of x padded to a multiple of 7 (pad = (7 - W % 7) % 7 = 1)    16
    masked Add of a 2x2 mask built by ScatterND on ConstantOfShape (16 bytes of constant)
    scaled Mul of x by a channel scale Where(Range(0, C) == 2, 2, 1) (16 bytes of constant)
    """
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("half", "fc", "pool", "masked", "scaled")]
    nodes = [
        helper.make_node("Shape", ["x"], ["s"], name="shape"),
        helper.make_node("Gather", ["s", "one"], ["c"], name="channels", axis=0),
        helper.make_node("Div", ["c", "two"], ["c2"], name="halve"),
        helper.make_node("Unsqueeze", ["c2", "axes0"], ["c2v"], name="c2v"),
        helper.make_node("Slice", ["x", "zero_v", "c2v", "one_v"], ["xs"], name="chunk"),
        helper.make_node("Relu", ["xs"], ["half"], name="half"),
        helper.make_node("Gather", ["s", "zero"], ["b"], name="batch", axis=0),
        helper.make_node("Unsqueeze", ["b", "axes0"], ["bv"], name="bv"),
        helper.make_node("Concat", ["bv", "minus_one_v"], ["flat_shape"], name="flat_shape", axis=0),
        helper.make_node("Reshape", ["x", "flat_shape"], ["xf"], name="flatten"),
        helper.make_node("MatMul", ["xf", "wfc"], ["fc"], name="fc"),
        # Swin: pad_r = (7 - W % 7) % 7, pads written reversed by a Slice with step -1.
        helper.make_node("Gather", ["s", "three"], ["w"], name="width", axis=0),
        helper.make_node("Mod", ["w", "seven"], ["wm"], name="w_mod", fmod=0),
        helper.make_node("Sub", ["seven", "wm"], ["wr"], name="w_rest"),
        helper.make_node("Mod", ["wr", "seven"], ["pad_r"], name="pad_mod", fmod=0),
        helper.make_node("Unsqueeze", ["pad_r", "axes0"], ["pad_v"], name="pad_v"),
        helper.make_node("Concat", ["pad_v", "pad_v", "zeros2"], ["rev"], name="rev", axis=0),  # [p, p, 0, 0]
        helper.make_node("Slice", ["rev", "minus_one_v", "int_min_v", "axes0", "minus_one_v"], ["tail"], name="reverse"),
        helper.make_node("Concat", ["zeros4", "tail"], ["pads"], name="pads", axis=0),  # [0,0,0,0, 0,0,p,p]
        helper.make_node("Pad", ["x", "pads"], ["xp"], name="pad"),
        helper.make_node("MaxPool", ["xp"], ["pool"], name="pool", kernel_shape=[7, 7], strides=[7, 7]),
        # A mask built at run time from constants.
        helper.make_node("ConstantOfShape", ["mask_shape"], ["m0"], name="mask0",
                         value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])),
        helper.make_node("ScatterND", ["m0", "mask_idx", "mask_upd"], ["mask"], name="scatter"),
        helper.make_node("Slice", ["x", "zero_v", "two_v", "two_v"], ["x22"], name="corner"),
        helper.make_node("Slice", ["x22", "zero_v", "two_v", "three_v"], ["x222"], name="corner2"),
        helper.make_node("Slice", ["x222", "zero_v", "one_v", "one_v"], ["x122"], name="corner3"),
        helper.make_node("Add", ["x122", "mask"], ["masked"], name="masked"),
        # A channel scale from Range and Where.
        helper.make_node("Range", ["zero", "c", "one"], ["r"], name="range"),
        helper.make_node("Equal", ["r", "two"], ["is2"], name="is2"),
        helper.make_node("Where", ["is2", "two_f", "one_f"], ["scale"], name="where"),
        helper.make_node("Reshape", ["scale", "scale_shape"], ["scale4"], name="scale4"),
        helper.make_node("Mul", ["x", "scale4"], ["scaled"], name="scaled"),
    ]
    inits = [ints("zero", 0), ints("one", 1), ints("two", 2), ints("three", 3), ints("seven", 7),
             ints("axes0", [0]), ints("zero_v", [0]), ints("one_v", [1]), ints("two_v", [2]), ints("three_v", [3]),
             ints("minus_one_v", [-1]), ints("int_min_v", [-(2 ** 63) + 1]), ints("zeros2", [0, 0]),
             ints("zeros4", [0, 0, 0, 0]), weights("wfc", [144, 3]), ints("mask_shape", [2, 2]),
             ints("mask_idx", [[0, 1]]), floats("mask_upd", [5.0]), floats("two_f", 2.0), floats("one_f", 1.0),
             ints("scale_shape", [1, 4, 1, 1])]
    graph = helper.make_graph(nodes, "computed_shapes", [x], outs, inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def composites():
    """x [1, 8, 4] -> LayerNorm (9 ops) -> MatMul + bias -> GELU (5 ops) -> MatMul + bias -> SiLU."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["mean"], name="ln", axes=[-1]),
        helper.make_node("Sub", ["x", "mean"], ["d"], name="ln_sub"),
        helper.make_node("Pow", ["d", "p2"], ["d2"], name="ln_pow"),
        helper.make_node("ReduceMean", ["d2"], ["var"], name="ln_var", axes=[-1]),
        helper.make_node("Add", ["var", "eps"], ["ve"], name="ln_eps"),
        helper.make_node("Sqrt", ["ve"], ["std"], name="ln_sqrt"),
        helper.make_node("Div", ["d", "std"], ["xn"], name="ln_div"),
        helper.make_node("Mul", ["xn", "gamma"], ["xg"], name="ln_mul"),
        helper.make_node("Add", ["xg", "beta"], ["ln_out"], name="ln_add"),
        helper.make_node("MatMul", ["ln_out", "w1"], ["h"], name="fc1"),
        helper.make_node("Add", ["h", "b1"], ["hb"], name="fc1_bias"),
        helper.make_node("Div", ["hb", "sqrt2"], ["hs"], name="gelu"),
        helper.make_node("Erf", ["hs"], ["he"], name="gelu_erf"),
        helper.make_node("Add", ["he", "one_f"], ["h1"], name="gelu_add"),
        helper.make_node("Mul", ["hb", "h1"], ["hm"], name="gelu_mul"),
        helper.make_node("Mul", ["hm", "half_f"], ["g"], name="gelu_half"),
        helper.make_node("MatMul", ["g", "w2"], ["o"], name="fc2"),
        helper.make_node("Add", ["o", "b2"], ["ob"], name="fc2_bias"),
        helper.make_node("Sigmoid", ["ob"], ["sg"], name="silu"),
        helper.make_node("Mul", ["ob", "sg"], ["y"], name="silu_mul"),
    ]
    inits = [floats("p2", 2.0), floats("eps", 1e-5), weights("gamma", [4]), weights("beta", [4]), weights("w1", [4, 16]),
             weights("b1", [16]), floats("sqrt2", 1.4142135), floats("one_f", 1.0), floats("half_f", 0.5),
             weights("w2", [16, 4]), weights("b2", [4])]
    graph = helper.make_graph(nodes, "composites", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def attention():
    """x [1, 5, 8], 2 heads of 4: qkv projection, per-head QK^T / 2 + bias, Softmax, AV, output
    projection; the Reshape/Transpose/Slice between them are views."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("MatMul", ["x", "wqkv"], ["qkv0"], name="in_proj"),
        helper.make_node("Add", ["qkv0", "bqkv"], ["qkv"], name="in_proj_bias"),
        helper.make_node("Reshape", ["qkv", "qkv_shape"], ["qkv5"], name="split_heads"),   # [1, 5, 3, 2, 4]
        helper.make_node("Transpose", ["qkv5"], ["qkvt"], name="heads_first", perm=[2, 0, 3, 1, 4]),  # [3, 1, 2, 5, 4]
        helper.make_node("Gather", ["qkvt", "zero"], ["q"], name="q", axis=0),
        helper.make_node("Gather", ["qkvt", "one"], ["k"], name="k", axis=0),
        helper.make_node("Gather", ["qkvt", "two"], ["v"], name="v", axis=0),
        helper.make_node("Div", ["q", "two_f"], ["qs"], name="scale"),
        helper.make_node("Transpose", ["k"], ["kt"], name="kt", perm=[0, 1, 3, 2]),
        helper.make_node("MatMul", ["qs", "kt"], ["scores"], name="scores"),
        helper.make_node("Add", ["scores", "pos_bias"], ["sb"], name="pos_bias"),
        helper.make_node("Softmax", ["sb"], ["attn"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["attn", "v"], ["av"], name="av"),
        helper.make_node("Transpose", ["av"], ["avt"], name="merge", perm=[0, 2, 1, 3]),
        helper.make_node("Reshape", ["avt", "out_shape"], ["avr"], name="merge_heads"),
        helper.make_node("MatMul", ["avr", "wo"], ["o"], name="out_proj"),
        helper.make_node("Add", ["o", "bo"], ["y"], name="out_proj_bias"),
    ]
    inits = [weights("wqkv", [8, 24]), weights("bqkv", [24]), ints("qkv_shape", [1, 5, 3, 2, 4]), ints("zero", 0),
             ints("one", 1), ints("two", 2), floats("two_f", 2.0), weights("pos_bias", [2, 5, 5]),
             ints("out_shape", [1, 5, 8]), weights("wo", [8, 8]), weights("bo", [8])]
    graph = helper.make_graph(nodes, "attention", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def conv_bn():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"], name="bn"),
             helper.make_node("Relu", ["n"], ["y"], name="relu")]
    inits = [weights("w", [8, 3, 3, 3]), weights("scale", [8]), weights("bias", [8]), weights("mean", [8]),
             floats("var", [1.0] * 8)]
    graph = helper.make_graph(nodes, "conv_bn", [x], [y], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def einsum():
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [2, 3, 5])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 4, 5])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Einsum", ["a", "b"], ["s"], name="scores", equation="b i d, b j d -> b i j"),
             helper.make_node("Relu", ["s"], ["y"], name="relu")]
    graph = helper.make_graph(nodes, "einsum", [a, b], [y])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


if __name__ == "__main__":
    onnx.save(small_cnn(1), HERE / "small_cnn.onnx")
    onnx.save(small_cnn("N"), HERE / "dynamic.onnx")
    onnx.save(custom_op(), HERE / "custom_op.onnx")
    onnx.save(dynamic_hw(), HERE / "dynamic_hw.onnx")
    onnx.save(computed_shapes(), HERE / "computed_shapes.onnx")
    onnx.save(composites(), HERE / "composites.onnx")
    onnx.save(attention(), HERE / "attention.onnx")
    onnx.save(conv_bn(), HERE / "conv_bn.onnx")
    onnx.save(einsum(), HERE / "einsum.onnx")
    print("wrote", ", ".join(p.name for p in sorted(HERE.glob("*.onnx"))))
