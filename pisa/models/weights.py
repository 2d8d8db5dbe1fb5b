"""Loading pretrained backbone weights from local files, and exporting a backbone's
weights out of a training checkpoint.

Nothing here downloads: every path is a local file. Files are read with
``torch.load(weights_only=True)`` through :mod:`pisa.io.safe_load`, whose explicit
allowlist admits the training-state types an mmengine checkpoint holds besides tensors.
"""
from __future__ import annotations

import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Union

import torch
from mmengine.logging import print_log
from torch import nn

from pisa.io.atomic import atomic_output
from pisa.io.hashing import file_sha256
from pisa.io.safe_load import load_checkpoint_file

PathLike = Union[str, os.PathLike]
StateDict = Dict[str, torch.Tensor]


@dataclass
class LoadReport:
    """What :func:`load_backbone_weights` did: parameter names per outcome."""

    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)  # in the module, not in the file
    unexpected: List[str] = field(default_factory=list)  # in the file, not in the module
    mismatched: List[str] = field(default_factory=list)  # in both, different shapes (an error)
    sha256: str = ""  # of the file's bytes, logged with the load


def read_checkpoint(path: PathLike, cfg_key: Optional[str] = None) -> dict:
    """Read a weights file (plain state dict or mmengine checkpoint) on the CPU with
    ``weights_only=True`` (:func:`pisa.io.safe_load.load_checkpoint_file`).
    Missing file -> FileNotFoundError naming it (and ``cfg_key``, the config key that
    named it, when given); corrupt file or one holding other types -> the loader's error."""
    path = Path(path)
    if not path.is_file():
        where = f" (config key {cfg_key!r})" if cfg_key else ""
        raise FileNotFoundError(f"weights file {str(path)!r}{where} does not exist")
    obj = load_checkpoint_file(str(path), map_location="cpu")
    if not isinstance(obj, Mapping):
        raise ValueError(
            f"weights file {str(path)!r} holds a {type(obj).__name__}, not a state dict "
            "or a checkpoint dict with 'state_dict'"
        )
    return dict(obj)


def _state_dict_of(obj: Mapping, path: PathLike) -> StateDict:
    """The tensors of a plain state dict, or of an mmengine checkpoint's ``state_dict``."""
    if "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    tensors = OrderedDict((k, v) for k, v in obj.items() if isinstance(v, torch.Tensor))
    if not tensors:
        raise ValueError(f"weights file {str(path)!r} holds no tensors")
    return tensors


def _under_prefix(state: StateDict, prefix: str, path: PathLike) -> StateDict:
    kept = OrderedDict((k[len(prefix):], v) for k, v in state.items() if k.startswith(prefix))
    if not kept:
        heads = sorted({k.split(".", 1)[0] + "." for k in state})
        raise ValueError(
            f"weights file {str(path)!r} has no keys under prefix {prefix!r}; "
            f"top-level prefixes there: {', '.join(heads)}"
        )
    return kept


def load_backbone_weights(
    module: nn.Module,
    path: PathLike,
    prefix: Optional[str] = None,
    convert: Optional[Callable[[StateDict], StateDict]] = None,
    cfg_key: str = "pretrained",
    require_all: bool = False,
) -> LoadReport:
    """Load a local weights file into ``module`` and log what loaded.

    ``path``: a plain state dict or an mmengine checkpoint (its ``state_dict`` is used).
    ``prefix``: keep only keys starting with it and strip it (e.g. ``'backbone.'``).
    ``convert``: maps the (stripped) state dict to the module's key names and shapes.
    Raises FileNotFoundError for a missing file (naming ``cfg_key``), ValueError when a
    tensor's shape differs from the module's (the file is for another network) or when no
    tensor matches the module. Missing and unexpected keys are logged, not errors, unless
    ``require_all`` (a whole pretrained network): then a module tensor the file lacks is
    a ValueError naming the first missing and unexpected keys. The log line carries the
    file's sha256, so a run's log records which weights it started from.
    """
    state = _state_dict_of(read_checkpoint(path, cfg_key), path)
    if prefix:
        state = _under_prefix(state, prefix, path)
    if convert is not None:
        state = convert(state)
    own = module.state_dict()
    report = LoadReport()
    usable = OrderedDict()
    for key, value in state.items():
        if key not in own:
            report.unexpected.append(key)
        elif tuple(own[key].shape) != tuple(value.shape):
            report.mismatched.append(
                f"{key} (file {tuple(value.shape)}, module {tuple(own[key].shape)})"
            )
        else:
            usable[key] = value
    name = type(module).__name__
    if report.mismatched:  # a tensor of another shape means the file is for another network
        raise ValueError(
            f"{name}: {len(report.mismatched)} tensors in {str(path)!r} (config key {cfg_key!r}) "
            f"have other shapes than the module's: {report.mismatched[:5]}"
        )
    if not usable:
        raise ValueError(
            f"{name}: no tensor in {str(path)!r} matches the module (config key {cfg_key!r}); "
            f"file keys start {list(state)[:5]}, module keys start {list(own)[:5]}"
        )
    report.loaded = list(usable)
    report.missing = [k for k in own if k not in usable]
    if require_all and report.missing:
        raise ValueError(
            f"{name}: {str(path)!r} (config key {cfg_key!r}) is not in {name}'s layout: "
            f"{len(report.missing)} of its tensors are missing, first {report.missing[:5]}; "
            f"the file's keys not in {name}: {report.unexpected[:5]}"
        )
    module.load_state_dict(usable, strict=False)
    report.sha256 = file_sha256(path)
    print_log(
        f"{name}: loaded {len(report.loaded)} tensors from {path} (sha256 {report.sha256}); "
        f"missing {len(report.missing)} {report.missing[:10]}, "
        f"unexpected {len(report.unexpected)} {report.unexpected[:10]}",
        logger="current",
        level=logging.WARNING if report.missing else logging.INFO,
    )
    return report


def export_backbone_weights(checkpoint_path: PathLike, prefix: str, out_path: PathLike) -> int:
    """Write the tensors under ``prefix`` (e.g. ``'video_backbone.'``) of a checkpoint,
    with the prefix stripped, to ``out_path`` as a plain state dict, atomically. Returns the number of tensors written."""
    if not prefix:
        raise ValueError("export_backbone_weights needs a non-empty prefix, e.g. 'video_backbone.'")
    if not prefix.endswith("."):
        prefix += "."
    state = _under_prefix(_state_dict_of(read_checkpoint(checkpoint_path), checkpoint_path),
                          prefix, checkpoint_path)
    with atomic_output(out_path) as tmp:
        torch.save(state, tmp)
    return len(state)


def weight_tensors(path: PathLike, cfg_key: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The tensors of a weights file (a plain state dict or an mmengine checkpoint's);
    ``cfg_key`` names the config key the file came from in errors."""
    obj = read_checkpoint(path, cfg_key)
    state = obj["state_dict"] if isinstance(obj.get("state_dict"), dict) else obj
    return {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def backbone_prefix(state: Dict[str, torch.Tensor], modality: str) -> Optional[str]:
    """The key prefix of the backbone's tensors in a weights file: ``<modality>_backbone.``
    (an AQA model's checkpoint), ``backbone.`` (a recogniser's), else none."""
    for prefix in (f"{modality}_backbone.", "backbone."):
        if any(k.startswith(prefix) for k in state):
            return prefix
    return None


def unloaded_tensors(module: nn.Module, state: Dict[str, torch.Tensor],
                     prefix: Optional[str]) -> List[str]:
    """The floating-point tensors of ``module`` that no tensor of the weights ``state``
    (under ``prefix``, stripped) equals, matched by name up to a leading module path (a
    backbone wrapping a network, e.g. ``net.stem.0.weight`` for a file's
    ``stem.0.weight``)."""
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    missing = []
    for key, value in module.state_dict().items():
        if not value.is_floating_point():
            continue
        names = [f for f in state if key == f or key.endswith("." + f) or f.endswith("." + key)]
        match = max(names, key=len) if names else None
        if match is None or state[match].shape != value.shape or not torch.equal(
                state[match].to(value.dtype), value.cpu()):
            missing.append(key)
    return missing
