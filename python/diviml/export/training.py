"""Export one *training step* of a PyTorch module to a DiviML graph file (diviml.graph/1):

    diviml-export --training --torchvision resnet50 -o resnet50.train.json
    diviml-export --training --module decoder:gpt2_mini --input-shape 1,64,256 -o g.json

functorch's `aot_module` (Debian's torch 1.13) traces the joint forward and backward graphs of
the module as FX graphs of aten ops; this runs one real step on a random input to get them with
their shapes. The step's graph is:

- the forward ops (`fw/NAME`), then a `loss` node (the mean of the outputs: one input, one
  tangent of the output's size), then the backward ops (`bw/NAME`);
- one optimizer update per trainable parameter (`update/PARAM`): it reads the parameter's
  gradient and holds the parameter (`param_bytes`) and the optimizer's state (`state_bytes`:
  none for sgd, one copy for momentum, two for adam) for the whole step;
- edges for every tensor: activations forward, the activations the backward saved from the
  forward (the aot partition's saved tensors), gradients backward, and each gradient to its
  update.

Ops that touch one parameter run where it lives: the forward ops that read it, the backward ops
that read it or make its gradient, and its update form a colocation group (`colocate`, named by
the first such parameter); groups that share an op merge. Buffers (BatchNorm's running
statistics) and constants are resident bytes of the op that reads them. Views (view, t,
transpose, expand, getitem, ...) are folded into their producer, as the forward exporter (diviml.export.fx) does.

Costs are left to the platform's roofline: per op its FLOPs (convolutions and their backward,
matrix products, normalisation, softmax, elementwise ops) and bytes accessed (its input and
output tensors). The model input is `input_bytes` of the ops that read it (forward, and the
backward of the first layer, which re-reads it).
"""
import math
import warnings

import torch

from . import fx

# Ops that only reinterpret a tensor (no arithmetic, no copy): folded into their producer.
VIEW_OPS = {
    "view", "_unsafe_view", "t", "transpose", "permute", "expand", "detach", "alias", "squeeze",
    "unsqueeze", "reshape", "select", "slice", "as_strided", "split", "split_with_sizes", "unbind",
    "chunk", "getitem", "lift_fresh_copy", "_reshape_alias", "unflatten", "flatten",
}
# FLOPs per element of the output, for ops not handled by shape.
PER_ELEMENT = {
    "relu": 1, "threshold_backward": 1, "add": 1, "sub": 1, "mul": 1, "div": 1, "neg": 1, "rsub": 1,
    "native_batch_norm": 5, "_native_batch_norm_legit_functional": 5, "native_batch_norm_backward": 8,
    "native_layer_norm": 5, "native_layer_norm_backward": 8, "_softmax": 5, "_softmax_backward_data": 3,
    "gelu": 8, "gelu_backward": 12, "tanh": 6, "tanh_backward": 2, "sigmoid": 4, "sigmoid_backward": 2,
    "hardtanh": 2, "hardtanh_backward": 2, "silu": 5, "silu_backward": 8, "where": 1, "clone": 0,
    "_to_copy": 0, "copy": 0, "zeros_like": 0, "fill": 0, "new_zeros": 0, "cat": 0, "mean": 1, "sum": 1,
}
# Optimizer: FLOPs per parameter element, and state bytes per parameter byte.
OPTIMIZERS = {"sgd": (2, 0), "momentum": (4, 1), "adam": (12, 2)}


def aten_name(node):
    """'convolution' for aten.convolution.default; 'getitem' for operator.getitem."""
    packet = getattr(node.target, "overloadpacket", None)
    if packet is not None:
        return packet.__name__.strip("_") if packet.__name__.startswith("__") else packet.__name__
    return getattr(node.target, "__name__", str(node.target)).strip("_")


def shape_of(a):
    ms = fx.tensor_metas(a.meta.get("tensor_meta")) if isinstance(a, torch.fx.Node) else []
    return list(ms[0].shape) if ms else []


def flops(node, name):
    out_n = fx.numel(node)
    args = node.args
    if name == "convolution":
        w = shape_of(args[1])
        return 2 * out_n * math.prod(w[1:]) if w else out_n
    if name == "convolution_backward":
        grad, w = fx.numel(args[0]), shape_of(args[2])
        mask = args[10] if len(args) > 10 else [True, True, True]
        per = 2 * grad * math.prod(w[1:]) if w else grad
        return per * (int(bool(mask[0])) + int(bool(mask[1]))) + grad * int(bool(mask[2]))
    if name in ("mm", "bmm"):
        a = shape_of(args[0])
        return 2 * out_n * (a[-1] if a else 1)
    if name in ("addmm", "baddbmm"):
        a = shape_of(args[1])
        return 2 * out_n * (a[-1] if a else 1) + out_n
    if name == "max_pool2d_with_indices":
        k = args[1] if len(args) > 1 else [1, 1]
        return out_n * math.prod(k if isinstance(k, (list, tuple)) else [k, k])
    if name in ("max_pool2d_with_indices_backward", "avg_pool2d_backward", "embedding_dense_backward"):
        return out_n
    if name in ("mean", "sum", "avg_pool2d", "_adaptive_avg_pool2d", "amax"):
        return sum(fx.numel(a) for a in args if isinstance(a, torch.fx.Node))
    return PER_ELEMENT.get(name, 1) * out_n


class Union:
    def __init__(self):
        self.parent = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def trace_step(module, example):
    """The forward and backward aten graphs of one training step (shapes in tensor_meta)."""
    from functorch.compile import aot_module, make_boxed_func
    graphs = {}

    def keep(kind):
        def compiler(gm, inputs):
            graphs[kind] = gm
            return make_boxed_func(gm.forward)
        return compiler

    module.train()
    stepped = aot_module(module, fw_compiler=keep("fw"), bw_compiler=keep("bw"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = stepped(example)
        outs = out if isinstance(out, (tuple, list)) else [out]
        sum(o.float().mean() for o in outs).backward()
    if "fw" not in graphs or "bw" not in graphs:
        raise SystemExit("export_training: error: functorch produced no backward graph "
                         "(does the module have trainable parameters?)")
    return graphs["fw"], graphs["bw"], len(outs)


def export_training(module, example, name, optimizer="adam"):
    """The graph of one training step of `module` on `example` (a dict, diviml.graph/1)."""
    if optimizer not in OPTIMIZERS:
        raise SystemExit(f"export_training: error: unknown optimizer '{optimizer}' (known: {', '.join(OPTIMIZERS)})")
    fx.patch_fx_for_python311()
    params = [(n, p) for n, p in module.named_parameters()]
    buffers = list(module.named_buffers())
    fw, bw, n_out = trace_step(module, example)
    nodes, order = {}, []  # id -> entry; ids in creation order
    edges = {}  # (src, dst) -> bytes
    union = Union()

    def add_node(nid, op, fl, acc, out_bytes):
        nodes[nid] = {"id": nid, "op": op, "flops": int(fl), "bytes_accessed": int(acc), "output_bytes": int(out_bytes)}
        order.append(nid)

    def lower(gm, prefix, rep):
        """Adds the op nodes of one aten graph; rep maps fx names to what they stand for."""
        for node in gm.graph.nodes:
            if node.op in ("placeholder", "output"):
                continue
            if node.op == "get_attr":
                rep[node.name] = ("const", None)
                continue
            name = aten_name(node)
            ins = fx.input_nodes(node)
            if name in VIEW_OPS and ins:
                rep[node.name] = rep.get(ins[0].name, ("const", None))
                continue
            nid = f"{prefix}/{node.name}"
            in_bytes, input_bytes, resident = 0, 0, 0
            for a in ins:
                b = fx.nbytes(a)
                in_bytes += b
                kind, what = rep.get(a.name, ("const", None))
                if kind == "op":
                    edges[(what, nid)] = edges.get((what, nid), 0) + b
                elif kind == "input":
                    input_bytes += b
                elif kind == "param":
                    union.join("param:" + what, nid)
                else:  # buffers and constants live with their reader
                    resident += b
            out_bytes = fx.nbytes(node)
            add_node(nid, name, flops(node, name), in_bytes + out_bytes, out_bytes)
            if input_bytes:
                nodes[nid]["input_bytes"] = int(input_bytes)
            if resident:
                nodes[nid]["param_bytes"] = int(resident)
            rep[node.name] = ("op", nid)

    # Forward: primals are the parameters, the buffers, then the inputs.
    fw_rep = {}
    placeholders = [n for n in fw.graph.nodes if n.op == "placeholder"]
    for i, ph in enumerate(placeholders):
        if i < len(params):
            fw_rep[ph.name] = ("param", params[i][0])
        elif i < len(params) + len(buffers):
            fw_rep[ph.name] = ("const", None)
        else:
            fw_rep[ph.name] = ("input", None)
    lower(fw, "fw", fw_rep)
    fw_outs = list([n for n in fw.graph.nodes if n.op == "output"][0].args[0])
    user_outs, saved = fw_outs[:n_out], fw_outs[n_out:]
    # The loss: reads the outputs, gives the backward its tangents.
    loss_in = sum(fx.nbytes(o) for o in user_outs)
    add_node("loss", "loss", sum(fx.numel(o) for o in user_outs), 2 * loss_in, loss_in)
    for o in user_outs:
        kind, what = fw_rep.get(o.name, ("const", None))
        if kind == "op":
            edges[(what, "loss")] = edges.get((what, "loss"), 0) + fx.nbytes(o)
    # Backward: its placeholders are the saved tensors (the forward's extra outputs, in order),
    # then the tangents.
    bw_rep = {}
    bw_ph = [n for n in bw.graph.nodes if n.op == "placeholder"]
    for i, ph in enumerate(bw_ph):
        if i < len(saved):
            src = saved[i]
            bw_rep[ph.name] = fw_rep.get(src.name, ("const", None)) if isinstance(src, torch.fx.Node) else ("const", None)
        else:
            bw_rep[ph.name] = ("op", "loss")
    lower(bw, "bw", bw_rep)
    grads = list([n for n in bw.graph.nodes if n.op == "output"][0].args[0])
    flops_per, state_per = OPTIMIZERS[optimizer]
    for i, (pname, p) in enumerate(params):
        g = grads[i] if i < len(grads) else None
        if not isinstance(g, torch.fx.Node) or not p.requires_grad:
            continue
        kind, what = bw_rep.get(g.name, ("const", None))
        pbytes = p.numel() * p.element_size()
        uid = f"update/{pname}"
        # Reads the gradient, reads and writes the weights and the state.
        add_node(uid, f"{optimizer}_update", flops_per * p.numel(), pbytes * (3 + 2 * state_per), 0)
        nodes[uid]["param_bytes"] = int(pbytes)
        if state_per:
            nodes[uid]["state_bytes"] = int(pbytes * state_per)
        if kind == "op":
            edges[(what, uid)] = edges.get((what, uid), 0) + fx.nbytes(g)
        union.join("param:" + pname, uid)
    # Groups: components of ops joined through parameters, named by their first parameter.
    first_param = {}
    for pname, _ in params:
        root = union.find("param:" + pname)
        first_param.setdefault(root, pname)
    members = {}
    for nid in order:
        if nid in union.parent:
            members.setdefault(union.find(nid), []).append(nid)
    for root, ids in members.items():
        if len(ids) > 1:
            for nid in ids:
                nodes[nid]["colocate"] = first_param.get(root, ids[0])
    graph = {
        "format": "diviml.graph/1",
        "name": name,
        "source": {"exporter": "diviml.export.training", "torch": torch.__version__,
                   "input_shape": list(example.shape), "dtype": str(example.dtype).replace("torch.", ""),
                   "training": True, "optimizer": optimizer,
                   "forward_ops": sum(1 for i in order if i.startswith("fw/")),
                   "backward_ops": sum(1 for i in order if i.startswith("bw/")),
                   "parameters": len(params)},
        "nodes": [nodes[i] for i in order],
        "edges": [{"src": s, "dst": d, "bytes": int(b)} for (s, d), b in edges.items() if s != d],
    }
    if example.shape[0] != 1:
        graph["batch"] = int(example.shape[0])
    return graph
