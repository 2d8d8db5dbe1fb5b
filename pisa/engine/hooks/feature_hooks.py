"""Training hooks of the feature workflow: :class:`FreezeModulesHook` trains a model with
some of its parts fixed (an end-to-end model with a frozen backbone: what training on
extracted features is equivalent to)."""
from __future__ import annotations

from typing import Any, List, Sequence

import torch
from mmengine.hooks import Hook

from pisa.registry import component


@component("hook")
class FreezeModulesHook(Hook):
    """Train with the named submodules of the model fixed (e.g. ``'video_backbone'``): their
    parameters get no gradients (so no optimizer moves them and autograd does not run
    through them) and they stay in eval mode (batch norm statistics and dropout as at
    extraction). An end-to-end model trained so computes what a model on that backbone's
    extracted features computes.

    Config use: ``custom_hooks = [..., dict(type='FreezeModulesHook', modules=['video_backbone'])]``.
    Under DDP the model is wrapped before any hook runs, so the wrapper still waits for
    the frozen parameters' gradients: set ``model_wrapper_cfg.find_unused_parameters=True``.
    """

    priority = "VERY_HIGH"

    def __init__(self, modules: Sequence[str] = ("video_backbone",)) -> None:
        if isinstance(modules, str):
            modules = (modules,)
        if not modules:
            raise ValueError("FreezeModulesHook: name at least one submodule")
        self.modules = tuple(modules)

    def _targets(self, runner) -> List[torch.nn.Module]:
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        found = []
        for name in self.modules:
            try:
                found.append(model.get_submodule(name))
            except AttributeError:
                children = [n for n, _ in model.named_children()]
                raise ValueError(f"FreezeModulesHook: the model has no submodule {name!r}; "
                                 f"its children: {children}") from None
        return found

    def before_train(self, runner) -> None:
        for module in self._targets(runner):
            module.requires_grad_(False)

    def before_train_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
        # the loop puts the whole model in train mode at each epoch's start
        for module in self._targets(runner):
            module.eval()
