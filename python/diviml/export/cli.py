"""`diviml-export` (also `python3 -m diviml.export`): a PyTorch model to a DiviML graph file.

    diviml-export --torchvision resnet18 -o resnet18.json
    diviml-export --module mypkg.nets:make_net --input-shape 1,3,64,64 -o g.json
    diviml-export --training --module decoder:gpt2_mini --input-shape 1,64,256 -o g.train.json

One forward pass by default (diviml.export.fx); with --training one training step (forward,
backward, optimizer updates, colocation groups; diviml.export.training).
"""
import contextlib
import io
import json
import os
import sys

import torch
import torch.fx

from .. import tool_errors
from ..models.loading import add_model_arguments, model_from_args
from .fx import export
from .training import OPTIMIZERS, export_training

TOOL = "diviml-export"


def parser():
    ap = tool_errors.ArgumentParser(prog=TOOL, description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    add_model_arguments(ap)
    ap.add_argument("--input-shape", help="comma-separated input shape (default: the model's, batch 1)")
    ap.add_argument("--batch-size", type=int, help="samples per input: the first dimension of the input shape "
                    "(written to the graph as 'batch'; throughput plans report samples/s)")
    ap.add_argument("--name", help="graph name (default: the model name; with --training MODEL.train)")
    ap.add_argument("--no-fold-batchnorm", action="store_true",
                    help="keep each BatchNorm after a convolution as its own op (default: folded into the "
                    "convolution, as torch.onnx and inference runtimes do in eval mode)")
    ap.add_argument("--training", action="store_true",
                    help="export one training step instead (forward, backward, optimizer updates, colocation groups)")
    ap.add_argument("--optimizer", default="adam", choices=sorted(OPTIMIZERS),
                    help="--training: the update each parameter gets and the state it keeps (default adam: two copies)")
    ap.add_argument("-o", "--output", required=True)
    return ap


def forward_graph(args, model, name, shape):
    fold = not args.no_fold_batchnorm
    # torch.fx prints the tracebacks of a model that fails on the input before it raises: kept
    # aside, and shown only if the export goes on.
    said = io.StringIO()
    try:
        with contextlib.redirect_stderr(said):
            try:
                graph = export(model, torch.randn(*shape), args.name or name, fold_batchnorm=fold, meta=True)
            except torch.fx.proxy.TraceError:
                raise
            except Exception:  # an op without a meta kernel: run it for real, on every core
                torch.set_num_threads(os.cpu_count() or 1)
                model, _, _ = model_from_args(args, TOOL)
                graph = export(model, torch.randn(*shape), args.name or name, fold_batchnorm=fold)
    except torch.fx.proxy.TraceError as e:
        raise SystemExit(f"{TOOL}: error: torch.fx cannot trace {name}: {e}")
    except (RuntimeError, ValueError, TypeError, IndexError, AssertionError) as e:
        root = tool_errors.root_cause(e)
        raise SystemExit(f"{TOOL}: error: {name} does not run on an input of shape {shape}: "
                         f"{type(root).__name__}: {root}")
    sys.stderr.write(said.getvalue())
    if shape[0] != 1:
        graph["batch"] = shape[0]
    return graph


def main(argv=None):
    args = parser().parse_args(argv)
    model, name, shape = model_from_args(args, TOOL)
    if args.batch_size is not None:
        if args.batch_size < 1:
            raise SystemExit(f"{TOOL}: error: --batch-size {args.batch_size} must be at least 1")
        shape[0] = args.batch_size
    if args.training:
        torch.set_num_threads(os.cpu_count() or 1)
        graph = export_training(model, torch.randn(*shape), args.name or f"{name}.train", args.optimizer)
    else:
        graph = forward_graph(args, model, name, shape)
    try:
        with open(args.output, "w") as f:
            json.dump(graph, f, indent=1)
            f.write("\n")
    except OSError as e:
        raise SystemExit(f"{TOOL}: error: {args.output}: cannot write: {e.strerror}")
    if args.training:
        src = graph["source"]
        print(f"{args.output}: {len(graph['nodes'])} nodes ({src['forward_ops']} forward, {src['backward_ops']} "
              f"backward, {src['parameters']} updates), {len(graph['edges'])} edges")
    else:
        print(f"{args.output}: {len(graph['nodes'])} nodes, {len(graph['edges'])} edges")


def console():
    """The console command's entry point: one-line errors, exit status by class."""
    tool_errors.run(main, TOOL)
