"""Export a PyTorch module to a DiviML graph file (diviml.graph/1) with torch.fx.

    diviml-export --torchvision resnet18 -o models/resnet18.json
    diviml-export --module mypkg.nets:make_net --input-shape 1,3,64,64 -o g.json
    diviml.export(module, example_inputs)          # from Python: the graph as a dict

Every operator node of the FX graph becomes a graph node with its op kind, forward FLOPs,
bytes accessed (inputs + output + weights), resident weight bytes and output bytes; every
tensor flowing between two operators becomes an edge sized by that tensor. Shapes come from
running the module once on a random input (torch.fx ShapeProp), so they are the real ones.

Folded nodes (no work of their own; see docs/formats.md): model inputs become `input_bytes`
of the nodes that read them; get_attr tensors become `param_bytes` of their readers; views
and bookkeeping ops (flatten, view, reshape, getitem, size, dropout in eval, identity, ...)
are removed and their readers connected to the node that produced the data.
"""

import math
import operator
import sys

import torch
import torch.fx
from torch.fx.passes.shape_prop import ShapeProp


# Ops that move no data and do no arithmetic in eval mode: folded into their producer.
FOLD_NAMES = {
    "flatten", "view", "reshape", "squeeze", "unsqueeze", "contiguous", "getitem", "size",
    "dim", "getattr", "dropout", "identity", "expand", "type_as", "to", "detach", "clone",
    "permute", "transpose", "chunk", "split", "unbind",
    "stochasticdepth", "stochastic_depth",  # identity in eval mode (torchvision's StochasticDepth)
    "patch_merging_pad",  # Swin's 2x2 patch gather: slices of one tensor put side by side
}


ELEMENTWISE_FLOPS = {
    "relu": 1, "relu6": 2, "hardtanh": 2, "leakyrelu": 2, "sigmoid": 4, "hardsigmoid": 3,
    "silu": 5, "hardswish": 4, "gelu": 8, "tanh": 6, "add": 1, "iadd": 1, "sub": 1, "mul": 1,
    "imul": 1, "truediv": 1, "div": 1, "batchnorm2d": 2, "batchnorm1d": 2, "layernorm": 5, "layernorm2d": 5,
    "layer_norm": 5, "gelu": 8,
    "softmax": 5, "mean": 1, "sum": 1, "cat": 0, "stochasticdepth": 1,
}


def patch_fx_for_python311():
    """Make torch 1.13's FX trace `a, b = proxy` on Python 3.11.

    Proxy.__iter__ looks up the calling instruction as instructions[f_lasti // 2], which
    assumes one instruction per two bytes. Python 3.11 interleaves CACHE entries, so the
    lookup lands on the wrong instruction and tracing fails with "Proxy object cannot be
    iterated" (ViT, most transformers). Finding the instruction by its byte offset works on
    every version. Applied once, only where needed.
    """
    import dis
    import inspect

    from torch.fx.proxy import Proxy

    if sys.version_info < (3, 11) or getattr(Proxy.__iter__, "_diviml_offset_lookup", False):
        return

    def __iter__(self):
        frame = inspect.currentframe()
        calling = frame.f_back
        for inst in dis.get_instructions(calling.f_code):
            if inst.offset == calling.f_lasti:
                if inst.opname == "UNPACK_SEQUENCE":
                    return (self[i] for i in range(inst.argval))
                break
        return self.tracer.iter(self)

    __iter__._diviml_offset_lookup = True
    Proxy.__iter__ = __iter__


def tensor_metas(meta):
    """Flattened list of TensorMetadata in a ShapeProp result (tensor, tuple or None)."""
    if meta is None:
        return []
    if hasattr(meta, "shape") and hasattr(meta, "dtype"):
        return [meta]
    if isinstance(meta, (list, tuple)):
        out = []
        for m in meta:
            out.extend(tensor_metas(m))
        return out
    if isinstance(meta, dict):
        out = []
        for m in meta.values():
            out.extend(tensor_metas(m))
        return out
    return []


def element_size(dtype):
    return torch.empty((), dtype=dtype).element_size()


def nbytes(node):
    return sum(math.prod(m.shape) * element_size(m.dtype) for m in tensor_metas(node.meta.get("tensor_meta")))


def numel(node):
    return sum(math.prod(m.shape) for m in tensor_metas(node.meta.get("tensor_meta")))


def first_shape(node):
    ms = tensor_metas(node.meta.get("tensor_meta"))
    return list(ms[0].shape) if ms else []


def op_name(gm, node):
    if node.op == "call_module":
        return type(gm.get_submodule(node.target)).__name__.lower()
    if node.op == "call_function":
        name = getattr(node.target, "__name__", str(node.target))
        return name.lower().strip("_")
    if node.op == "call_method":
        return str(node.target).lower().strip("_")
    return node.op


def module_state_bytes(mod):
    total = 0
    for t in list(mod.parameters()) + list(mod.buffers()):
        total += t.numel() * t.element_size()
    return total


def input_nodes(node):
    found = []
    torch.fx.node.map_arg((node.args, node.kwargs), lambda a: found.append(a))
    seen, out = set(), []
    for a in found:
        if a.name not in seen:
            seen.add(a.name)
            out.append(a)
    return out


def arg(node, index, name, default=None):
    """An argument of a call by position or keyword."""
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def window_attention_flops(node):
    """torchvision's Swin attention (one wrapped FX call): the work the ONNX export of the same
    function shows op by op. Tokens T = B * H' * W' after padding to whole windows of N tokens;
    qkv and output projections, QK^T and AV per window and head, softmax, the scale and the added
    position bias (and the shift mask when shifted)."""
    b, h, w, c = (first_shape(arg(node, 0, "input")) + [1, 1, 1, 1])[:4]
    wh, ww = arg(node, 4, "window_size")
    heads = arg(node, 5, "num_heads")
    shift = arg(node, 6, "shift_size")
    hp, wp = -(-h // wh) * wh, -(-w // ww) * ww
    shifted = any(shift) and (wh < hp or ww < wp)
    n = wh * ww
    tokens = b * hp * wp
    scores = tokens * n * heads  # B * windows * heads * N * N
    cosine = arg(node, 11, "logit_scale") is not None  # Swin V2: normalised q and k
    return (2 * tokens * c * 3 * c + 2 * 2 * tokens * n * c + 2 * tokens * c * c + 5 * scores
            + scores * (2 if shifted else 1) + tokens * c * (10 if cosine else 1))


def einsum_flops(node, out_n):
    """Two per multiply-add: the product of the sizes of every index the equation names."""
    eq = str(arg(node, 0, "equation", "")).replace(" ", "")
    operands = node.args[1:]
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = operands[0]
    lhs = eq.split("->")[0]
    if "." in lhs:
        return 2 * out_n
    size = {}
    for spec, x in zip(lhs.split(","), operands):
        shape = first_shape(x) if isinstance(x, torch.fx.Node) else []
        if len(shape) != len(spec):
            return 2 * out_n
        for c, d in zip(spec, shape):
            size[c] = max(size.get(c, 1), d)
    return 2 * math.prod(size.values())


def flops_of(gm, node, op, inputs):
    out_n = numel(node)
    if op == "einsum":
        return einsum_flops(node, out_n)
    if op in ("shifted_window_attention", "shifted_window_attention_v2"):
        return window_attention_flops(node)
    mod = gm.get_submodule(node.target) if node.op == "call_module" else None
    if op in ("conv1d", "conv2d", "conv3d", "convtranspose2d"):
        if mod is not None:
            k = math.prod(mod.kernel_size) * mod.in_channels // mod.groups
        else:  # functional conv: weight is args[1]
            w = first_shape(node.args[1]) if len(node.args) > 1 else [1, 1]
            k = math.prod(w[1:])
        return 2 * out_n * k
    if op == "linear":
        in_f = mod.in_features if mod is not None else first_shape(node.args[1])[-1]
        return 2 * out_n * in_f
    if op in ("matmul", "bmm", "mm"):
        a = first_shape(inputs[0]) if inputs else [1]
        return 2 * out_n * a[-1]
    if op in ("maxpool2d", "avgpool2d", "max_pool2d", "avg_pool2d"):
        if mod is not None:
            ks = mod.kernel_size
        else:
            ks = node.kwargs.get("kernel_size", node.args[1] if len(node.args) > 1 else 1)
        ks = (ks, ks) if isinstance(ks, int) else ks
        return out_n * math.prod(ks)
    if op in ("adaptiveavgpool2d", "adaptive_avg_pool2d", "adaptivemaxpool2d"):
        return sum(numel(i) for i in inputs)
    if op == "multiheadattention":
        # q, k, v and output projections plus the two attention matmuls; batch_first input.
        shape = first_shape(inputs[0])
        b, l, e = (shape + [1, 1, 1])[:3] if mod is not None and mod.batch_first else (1, 1, 1)
        if mod is not None and not mod.batch_first:
            l, b, e = shape[0], shape[1], shape[2]
        return b * (4 * 2 * l * e * e + 2 * 2 * l * l * e + 5 * mod.num_heads * l * l)
    return ELEMENTWISE_FLOPS.get(op, 1) * out_n


CONV_MODULES = (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)


BATCHNORM_MODULES = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)


CONV_FUNCTIONS = (torch.conv1d, torch.conv2d, torch.conv3d, torch.nn.functional.conv1d, torch.nn.functional.conv2d,
                  torch.nn.functional.conv3d)


def folded_batchnorm(gm, node):
    """The convolution a BatchNorm folds into (eval mode: its scale and shift become the
    convolution's weights and bias, as torch.onnx exports it), or None. Only a BatchNorm module
    whose input is a convolution module's output that nothing else reads."""
    if node.op != "call_module" or not isinstance(gm.get_submodule(node.target), BATCHNORM_MODULES):
        return None
    src = node.args[0] if node.args else None
    if not isinstance(src, torch.fx.Node) or len(src.users) != 1:
        return None
    if src.op == "call_module" and isinstance(gm.get_submodule(src.target), CONV_MODULES):
        return src
    # A subclass of nn.Conv3d defined outside torch.nn (torchvision's Conv3DSimple) is traced
    # into: its F.conv3d call.
    if src.op == "call_function" and src.target in CONV_FUNCTIONS:
        return src
    return None


def conv_has_bias(gm, conv):
    if conv.op == "call_module":
        return gm.get_submodule(conv.target).bias is not None
    bias = conv.args[2] if len(conv.args) > 2 else conv.kwargs.get("bias")
    return bias is not None


def representative(gm, node, rep, fold_batchnorm=False):
    """What stands for a node that is not an op of the graph file: ("input", None) for the model
    input, ("param", None) for attributes and Python-level bookkeeping (no tensor out), or the
    representative of the node it folds into (getitem, flatten, dropout, ...: its first tensor
    input's; with fold_batchnorm, a BatchNorm after a convolution: the convolution's); None for a
    node that is an op of its own. `rep` holds the earlier nodes' entries (("op", id) for ops).
    The executor and the profiler place nodes by the same rule (the graph's
    source.fold_batchnorm says which)."""
    if fold_batchnorm and folded_batchnorm(gm, node) is not None:
        return rep[node.args[0].name]
    if node.op == "placeholder":
        return ("input", None)
    if node.op == "get_attr":
        return ("param", None)
    if not tensor_metas(node.meta.get("tensor_meta")):
        # Python-level bookkeeping (shape checks, asserts, int arithmetic): no tensor out.
        return ("param", None)
    ins = [a for a in input_nodes(node) if tensor_metas(a.meta.get("tensor_meta"))]
    if all(rep.get(a.name, ("input", None))[0] == "param" for a in ins) and node.op != "call_module":
        # Computed from weights and constants only (Swin's relative position bias): a constant,
        # as ONNX constant folding makes it.
        return ("param", None)
    op = op_name(gm, node)
    if op in FOLD_NAMES or op.startswith("dropout") or (node.op == "call_function" and node.target is operator.getitem):
        ins = input_nodes(node)
        tensor_ins = [a for a in ins if tensor_metas(a.meta.get("tensor_meta"))]
        src = tensor_ins[0] if tensor_ins else (ins[0] if ins else None)
        return rep.get(src.name, ("input", None)) if src is not None else ("param", None)
    return None


def export(module, example, name, fold_batchnorm=True, meta=False):
    """The graph of `module` on `example`. meta=True moves the module to the meta device first
    (shapes without arithmetic: ViT-H/14 in seconds instead of 80 s on one core); it consumes the
    module's weights, so only a caller that owns the module may ask, and must retry without it
    when an op has no meta kernel."""
    patch_fx_for_python311()
    module.eval()
    if meta:
        module = module.to("meta")
        example = torch.empty(example.shape, dtype=example.dtype, device="meta")
    gm = torch.fx.symbolic_trace(module)
    with torch.no_grad():
        ShapeProp(gm).propagate(example)
    rep = {}  # fx node name -> ("op", id) | ("input", None) | ("param", None)
    nodes, index = [], {}
    # Convolutions that take a BatchNorm's shift as their bias (when they have none).
    gains_bias = {}
    if fold_batchnorm:
        for node in gm.graph.nodes:
            conv = folded_batchnorm(gm, node)
            if conv is not None and not conv_has_bias(gm, conv):
                bn = gm.get_submodule(node.target)
                gains_bias[conv.name] = bn.num_features * bn.bias.element_size() if bn.bias is not None else 0
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        folded = representative(gm, node, rep, fold_batchnorm)
        if folded is not None:
            rep[node.name] = folded
            continue
        op = op_name(gm, node)
        ins = input_nodes(node)
        tensor_ins = [a for a in ins if tensor_metas(a.meta.get("tensor_meta"))]
        param_bytes = module_state_bytes(gm.get_submodule(node.target)) if node.op == "call_module" else 0
        param_bytes += gains_bias.get(node.name, 0)
        in_bytes, input_bytes, edges = 0, 0, {}
        for a in tensor_ins:
            b = nbytes(a)
            in_bytes += b
            kind, src = rep.get(a.name, ("input", None))
            if kind == "op":
                edges[src] = edges.get(src, 0) + b
            elif kind == "input":
                input_bytes += b
            else:
                param_bytes += b
        out_bytes = nbytes(node)
        entry = {
            "id": node.name,
            "op": op,
            "flops": int(flops_of(gm, node, op, tensor_ins)),
            "bytes_accessed": int(in_bytes + out_bytes + param_bytes),
            "param_bytes": int(param_bytes),
            "output_bytes": int(out_bytes),
        }
        if input_bytes:
            entry["input_bytes"] = int(input_bytes)
        index[node.name] = len(nodes)
        nodes.append((entry, edges))
        rep[node.name] = ("op", node.name)
    graph = {
        "format": "diviml.graph/1",
        "name": name,
        "source": {"exporter": "diviml.export.fx", "torch": torch.__version__,
                   "input_shape": list(example.shape), "dtype": str(example.dtype).replace("torch.", ""),
                   "fold_batchnorm": bool(fold_batchnorm)},
        "nodes": [e for e, _ in nodes],
        "edges": [{"src": s, "dst": e["id"], "bytes": int(b)} for e, edges in nodes for s, b in edges.items()],
    }
    return graph
