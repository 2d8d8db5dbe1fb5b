"""The evaluation protocols a training run follows (``--protocol``), one class per name.

Each prepares the run config it is given (:meth:`Protocol.prepare`), says on which split
the tested checkpoint was chosen (:meth:`Protocol.selected_on`) and trains
(:meth:`Protocol.train`: one run, or ``refit``'s two). A run names its protocol in its
``results.json`` and beside every table (:data:`PROTOCOLS`).
"""
from __future__ import annotations

import copy
import os.path as osp
from dataclasses import replace
from typing import Any, Callable, Dict, Optional

from pisa.engine.validate import ConfigError


class Protocol:
    """One protocol: ``name`` (the ``--protocol`` value) and ``description``."""

    name = ""
    description = ""

    def prepare(self, cfg: Any, source: str) -> None:
        """Change the run config for this protocol (in place); ``source`` names the config."""

    def selected_on(self, save_best: Optional[str]) -> str:
        """The split the tested checkpoint was chosen on: ``'val'``, ``'test'`` or
        ``'last'`` (no selection: the last epoch)."""
        return "val" if save_best else "last"

    def train(self, config: str, opts: Any, train_once: Callable[..., Dict[str, Any]]
              ) -> Dict[str, Any]:
        """Train under this protocol: ``train_once(config, opts, protocol=name)`` runs one
        training and returns its results."""
        return train_once(config, opts, protocol=self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ValProtocol(Protocol):
    name = "val"
    description = ("the checkpoint chosen on a validation split carved from the training "
                   "performances; the test split is only tested")


class FixedProtocol(Protocol):
    name = "fixed"
    description = ("trained on all the training data for the config's epochs, the last "
                   "epoch tested (what the PISA paper's text describes)")

    def prepare(self, cfg: Any, source: str) -> None:
        """No validation carve in the training datasets, no validation loop, no
        checkpoint selection (the last epoch is tested)."""

        def uncarve(node: Any) -> None:
            if isinstance(node, dict):
                if node.get("val_performances"):
                    node["val_performances"] = None
                for value in node.values():
                    uncarve(value)
            elif isinstance(node, (list, tuple)):
                for value in node:
                    uncarve(value)

        if cfg.get("train_dataloader") is None:
            raise ConfigError(f"{source}: --protocol fixed needs a train_dataloader")
        uncarve(cfg.train_dataloader.get("dataset"))
        cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
        checkpoint = (cfg.get("default_hooks") or {}).get("checkpoint")
        if checkpoint is not None:
            checkpoint["save_best"] = None


class RefitProtocol(Protocol):
    name = "refit"
    description = ("the epoch count chosen on that validation split, then a retrain on all "
                   "the training data for that many epochs, tested once")

    def train(self, config: str, opts: Any, train_once: Callable[..., Dict[str, Any]]
              ) -> Dict[str, Any]:
        """The run config itself is left as it is: each of the two runs is prepared by
        its own protocol. The ``val`` protocol in ``<work_dir>/select`` chooses the epoch count, then a
        ``fixed`` run for that many epochs in the work dir; its results keep the selection
        under ``refit``."""
        from pisa.engine.config_loader import default_work_dir

        work_dir = opts.work_dir or default_work_dir(config)
        select = train_once(config, replace(opts, protocol="val",
                                            work_dir=osp.join(work_dir, "select")))
        if select.get("epoch") is None:
            raise ConfigError(f"{config}: --protocol refit: the selection run saved no checkpoint")
        options = dict(opts.cfg_options or {}, **{"train_cfg.max_epochs": int(select["epoch"])})
        return train_once(config, replace(opts, protocol="fixed", work_dir=work_dir,
                                          cfg_options=options), protocol=self.name,
                          refit={"selected_epoch": select["epoch"],
                                 "select_work_dir": select["work_dir"],
                                 "select_val_metrics": select["val_metrics"]})


class TestSelectedProtocol(Protocol):
    __test__ = False  # not a test case
    name = "test-selected"
    description = "the checkpoint chosen on the TEST split (the field's habit; optimistic)"

    def prepare(self, cfg: Any, source: str) -> None:
        """The validation loop runs on the test split, so the checkpoint is chosen there."""
        if cfg.get("test_dataloader") is None or cfg.get("test_evaluator") is None:
            raise ConfigError(
                f"{source}: --protocol test-selected needs test_dataloader and test_evaluator")
        cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
        cfg.val_evaluator = copy.deepcopy(cfg.test_evaluator)
        cfg.setdefault("val_cfg", dict())

    def selected_on(self, save_best: Optional[str]) -> str:
        return "test" if save_best else "last"


#: the protocols by name, in the order the command line lists them
PROTOCOLS: Dict[str, Protocol] = {
    p.name: p for p in (ValProtocol(), RefitProtocol(), FixedProtocol(), TestSelectedProtocol())
}


def get_protocol(name: str) -> Protocol:
    """The protocol called ``name``; :class:`ConfigError` listing the names otherwise."""
    if name not in PROTOCOLS:
        raise ConfigError(f"--protocol: {name!r} is not one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[name]
