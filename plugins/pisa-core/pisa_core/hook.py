"""The hook that builds CoRe's groups from the training pairs before training."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from pisa.plugin_api import datasets_with


class CoReGroupHook(Hook):
    """Before training, build the CoRe model's groups from the training dataset's pair
    differences (an :class:`~pisa.plugin_api.ExemplarDataset`, whose ``same`` rule picks
    the pairs; divided by the model's ``divide_by``), and log them."""

    priority = "NORMAL"

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, "set_groups"):
            raise TypeError(f"CoReGroupHook: the model {type(model).__name__} has no set_groups "
                            "(a CoReModel does)")
        datasets = datasets_with(runner.train_dataloader.dataset, "pair_differences")
        if not datasets:
            raise TypeError("CoReGroupHook: the training dataset is not an ExemplarDataset (no "
                            "pair_differences to build the groups from)")
        differences = datasets[0].pair_differences(divide_by=model.divide_by)
        model.set_groups(differences)
        bounds = model.group_bounds.cpu().numpy()
        runner.logger.info(f"CoRe groups from {len(differences)} training pairs: "
                           + ", ".join(f"[{lo:.3g}, {hi:.3g}]" for lo, hi in bounds))
