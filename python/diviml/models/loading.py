"""The models every tool takes: a torchvision model by name (--torchvision NAME) or a factory
(--module PKG.MOD:FACTORY; the bundled factories also by their short names, e.g. decoder:gpt2_mini
for diviml.models.decoder:gpt2_mini), with its input shape.
"""

import importlib

import torch


TORCHVISION_INPUT = {"inception_v3": 299}
# Video models take clips [batch, channels, frames, height, width] (torchvision's reference sizes).
VIDEO_INPUT = {"r3d_18": [1, 3, 16, 112, 112], "mc3_18": [1, 3, 16, 112, 112], "r2plus1d_18": [1, 3, 16, 112, 112]}
VIDEO_DEFAULT_INPUT = [1, 3, 16, 224, 224]
# Families that exist in torchvision but cannot be exported, and why.
UNSUPPORTED_FAMILIES = {
    "detection": "region proposals, box decoding and non-maximum suppression depend on the data, which "
                 "torch.fx cannot trace; export the backbone with --module",
    "optical_flow": "RAFT refines the flow in a loop whose values drive the sampling, which torch.fx cannot trace",
    "quantization": "quantized kernels have no FLOP and byte model here; export the float model",
}


def torchvision_family(family):
    import torchvision.models as tvm
    return tvm if family == "" else getattr(tvm, family, None)


def load_torchvision(name, tool="diviml-export"):
    """A classification model by name, or FAMILY.NAME for segmentation and video models;
    detection, optical_flow and quantization models are refused with the reason."""
    import torchvision.models as tvm
    family, _, short = name.rpartition(".")
    module = torchvision_family(family) if family in ("", "segmentation", "video", *UNSUPPORTED_FAMILIES) else None
    if module is None or short not in tvm.list_models(module=module):
        raise SystemExit(f"{tool}: error: torchvision has no model '{name}'")
    if family in UNSUPPORTED_FAMILIES:
        raise SystemExit(f"{tool}: error: unsupported: {name} ({UNSUPPORTED_FAMILIES[family]})")
    ctor = getattr(module, short)
    kwargs = {"weights": None}
    if short in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=False)
    if family == "segmentation":
        # One output (no auxiliary classifier); weights_backbone=None: nothing is downloaded.
        kwargs.update(weights_backbone=None, aux_loss=False)
    return ctor(**kwargs)


def torchvision_input(name):
    family, _, short = name.rpartition(".")
    if family == "video":
        return list(VIDEO_INPUT.get(short, VIDEO_DEFAULT_INPUT))
    side = TORCHVISION_INPUT.get(name, 224)
    return [1, 3, side, side]


def load_module(spec, tool="diviml-export"):
    """The module a factory returns, for --module PKG.MOD:FACTORY. A module that is not found by
    that name is looked for among the bundled factories (diviml.models.MOD)."""
    if ":" not in spec:
        raise SystemExit(f"{tool}: error: --module '{spec}' must look like package.module:factory")
    mod_name, attr = spec.split(":", 1)
    try:
        try:
            module = importlib.import_module(mod_name)
        except ModuleNotFoundError as missing:
            if missing.name != mod_name.split(".")[0] or "." in mod_name:
                raise
            try:
                module = importlib.import_module(f"diviml.models.{mod_name}")
            except ModuleNotFoundError:
                raise missing from None
        factory = getattr(module, attr)
    except (ImportError, AttributeError) as e:
        raise SystemExit(f"{tool}: error: cannot load '{spec}': {e}")
    return factory()


def add_model_arguments(ap, required=True):
    """The model options every tool that takes a model shares: --torchvision or --module."""
    src = ap.add_mutually_exclusive_group(required=required)
    src.add_argument("--torchvision", metavar="NAME", help="a torchvision classification model, or segmentation.NAME / video.NAME (e.g. "
                     "segmentation.lraspp_mobilenet_v3_large, video.r3d_18)")
    src.add_argument("--module", metavar="PKG.MOD:FACTORY", help="a factory returning a torch.nn.Module")


def model_from_args(args, tool):
    """The model of --torchvision or --module (weights from seed 0), its name and its input shape
    (--input-shape, else the model's default): the same for every tool that takes a model."""
    torch.manual_seed(0)
    if args.torchvision:
        model, name = load_torchvision(args.torchvision, tool), args.torchvision.rpartition(".")[2]
        shape = torchvision_input(args.torchvision)
    else:
        model, name = load_module(args.module, tool), args.module.split(":")[-1]
        shape = [1, 3, 224, 224]
    if getattr(args, "input_shape", None):
        try:
            shape = [int(x) for x in args.input_shape.split(",")]
        except ValueError:
            raise SystemExit(f"{tool}: error: --input-shape '{args.input_shape}' is not a comma-separated list of integers")
        if any(d < 1 for d in shape):
            raise SystemExit(f"{tool}: error: --input-shape '{args.input_shape}': every dimension must be at least 1")
    return model, name, shape
