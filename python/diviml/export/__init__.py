"""PyTorch models to DiviML graphs: one forward pass (fx.export) or one training step
(training.export_training). The command is `diviml-export` (cli.py).

The package is also diviml's export function: diviml.export(module, example_inputs, name=None,
fold_batchnorm=True) traces the module in this process and returns its graph (a dict in the
diviml.graph/1 format), raising diviml.Error subclasses on bad input.
"""
import sys
import types


class _CallableExportPackage(types.ModuleType):
    def __call__(self, module, example_inputs, name=None, fold_batchnorm=True):
        from .. import _export_graph  # torch is imported only when a module is exported
        return _export_graph(module, example_inputs, name=name, fold_batchnorm=fold_batchnorm)


sys.modules[__name__].__class__ = _CallableExportPackage
