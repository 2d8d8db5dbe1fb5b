"""Up-front checks of the config keys that matter, with errors that name the key.

mmengine accepts most mistakes silently (an unknown loop argument, a typo in a top-level
key) or fails deep inside training (a zero clip length). :func:`validate_config` checks
the few keys whose mistakes cost a run, before anything is built.
"""

from __future__ import annotations

import difflib
import os
from numbers import Integral, Real
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

from mmengine.config import Config

from pisa.io.media import check_backend_name


#: the dataloader sections of a config, in the order a run uses them
DATALOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


class ConfigError(ValueError):
    """A config value is unknown, of the wrong type or out of range; the message names
    the config file and the dotted key."""


#: keys mmengine's ``Runner.from_cfg`` reads at the top level of a config
RUNNER_KEYS = (
    "model",
    "work_dir",
    "train_dataloader",
    "val_dataloader",
    "test_dataloader",
    "train_cfg",
    "val_cfg",
    "test_cfg",
    "auto_scale_lr",
    "optim_wrapper",
    "param_scheduler",
    "val_evaluator",
    "test_evaluator",
    "default_hooks",
    "custom_hooks",
    "data_preprocessor",
    "load_from",
    "resume",
    "launcher",
    "env_cfg",
    "log_processor",
    "log_level",
    "visualizer",
    "default_scope",
    "randomness",
    "experiment_name",
    "model_wrapper_cfg",
    # the framework's own: which decoders read the media (pisa.io.media.backends)
    "video_backend",
    "audio_backend",
)

#: the keys each section may hold (sections mmengine passes on as keyword arguments)
SECTION_KEYS: Dict[str, Tuple[str, ...]] = {
    "train_cfg": (
        "type",
        "by_epoch",
        "max_epochs",
        "max_iters",
        "val_begin",
        "val_interval",
        "dynamic_intervals",
    ),
    "val_cfg": ("type", "fp16"),
    "test_cfg": ("type", "fp16"),
    "randomness": ("seed", "deterministic", "diff_rank_seed"),
    "env_cfg": ("cudnn_benchmark", "mp_cfg", "dist_cfg", "resource_limit"),
}
MMENGINE_LOOPS = ("EpochBasedTrainLoop", "IterBasedTrainLoop", "ValLoop", "TestLoop")
DATALOADER_KEYS = (
    "dataset",
    "batch_size",
    "num_workers",
    "sampler",
    "batch_sampler",
    "collate_fn",
    "pin_memory",
    "persistent_workers",
    "drop_last",
    "prefetch_factor",
    "timeout",
    "worker_init_fn",
    "multiprocessing_context",
    "generator",
    "pin_memory_device",
)


def _positive_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1


def _non_negative_int(value: Any) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 0


def _positive_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and value > 0


#: key name (wherever it appears) -> (check, what it must be)
VALUE_RULES: Dict[str, Tuple[Callable[[Any], bool], str]] = {
    "lr": (_positive_number, "a positive number"),
    "batch_size": (_positive_int, "a positive integer"),
    "num_workers": (_non_negative_int, "a non-negative integer"),
    "max_epochs": (_positive_int, "a positive integer"),
    "max_iters": (_positive_int, "a positive integer"),
    "val_interval": (_positive_int, "a positive integer"),
    "clip_len": (_positive_int, "a positive integer"),
    "num_clips": (_positive_int, "a positive integer"),
    "seed": (lambda v: v is None or _non_negative_int(v), "a non-negative integer or None"),
}


def _walk(node: Any, path: str) -> Iterator[Tuple[str, Mapping]]:
    if isinstance(node, Mapping):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]")


def _check_known(section: Mapping, allowed: Tuple[str, ...], where: str, errors: List[str]) -> None:
    for key in section:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            errors.append(f"{where}.{key}: unknown key{hint}; known keys: {', '.join(allowed)}")


def check_config_paths(cfg: Config, source: str, allowed_root: Optional[str] = None) -> None:
    """Raise :class:`ConfigError` if the config file itself holds an absolute ``data_root``
    (data roots come from ``--data-root`` or ``PISA_DATA_ROOT``; values under
    ``allowed_root``, the one given that way, are fine)."""
    for path, node in _walk(cfg._cfg_dict.to_dict(), ""):
        value = node.get("data_root")
        if allowed_root and isinstance(value, str) and value.startswith(allowed_root):
            continue
        if isinstance(value, str) and os.path.isabs(value):
            key = f"{path}.data_root" if path else "data_root"
            raise ConfigError(
                f"{source}: {key} = {value!r} is an absolute path; configs hold no absolute "
                "paths: pass --data-root DIR or set PISA_DATA_ROOT"
            )


def _check_clip_lengths(data: Mapping, errors: List[str]) -> None:
    """The video backbone's ``clip_len`` must match every dataset sampler's."""
    model = data.get("model")
    backbone = model.get("video_backbone") if isinstance(model, Mapping) else None
    want = backbone.get("clip_len") if isinstance(backbone, Mapping) else None
    if not _positive_int(want):
        return
    for name in DATALOADERS:
        loader = data.get(name)
        dataset = loader.get("dataset") if isinstance(loader, Mapping) else None
        sampler = dataset.get("clip_sampler") if isinstance(dataset, Mapping) else None
        modalities = dataset.get("modalities", ("video",)) if isinstance(dataset, Mapping) else ()
        got = sampler.get("clip_len") if isinstance(sampler, Mapping) else None
        if "video" in tuple(modalities) and _positive_int(got) and got != want:
            errors.append(
                f"{name}.dataset.clip_sampler.clip_len: {got} frames per clip, but "
                f"model.video_backbone.clip_len is {want}"
            )


def check_required_plugins(required: Any, source: str = "config") -> None:
    """A config's ``required_plugins``: the plugin distributions (names as pip knows them)
    whose components it names. One missing raises :class:`ConfigError` in one line naming
    it, before anything is built (an unknown component type would say less)."""
    from importlib import metadata

    if required is None:
        return
    names = [required] if isinstance(required, str) else required
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{source}: required_plugins: must be a list of distribution names, "
                          f"got {required!r}")
    for name in names:
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ConfigError(f"{source}: needs the plugin distribution {name!r}, which is not "
                              f"installed (pip install {name}; from a clone: pip install -e "
                              f"plugins/{name})") from None


def validate_config(cfg: Config, source: str = "config") -> None:
    """Check ``cfg`` (merged, with command-line options applied); raise one
    :class:`ConfigError` listing every problem as ``<source>: <dotted.key>: <what>``."""
    errors: List[str] = []
    data = cfg._cfg_dict.to_dict()
    check_required_plugins(data.get("required_plugins"), source)
    for kind in ("video", "audio"):
        try:
            check_backend_name(kind, data.get(f"{kind}_backend"), f"{kind}_backend")
        except ValueError as err:
            errors.append(str(err))
    for key in data:
        if key not in RUNNER_KEYS:
            close = difflib.get_close_matches(key, RUNNER_KEYS, n=1, cutoff=0.85)
            if close:  # other top-level names are the config's own variables
                errors.append(f"{key}: unknown key (did you mean {close[0]!r}?)")
    for section, allowed in SECTION_KEYS.items():
        value = data.get(section)
        if not isinstance(value, Mapping) or value.get("type") not in (None, *MMENGINE_LOOPS):
            continue  # absent, or a custom loop with arguments of its own
        _check_known(value, allowed, section, errors)
    for name in DATALOADERS:
        loader = data.get(name)
        if loader is not None and not isinstance(loader, Mapping):
            errors.append(f"{name}: must be a dict (dataset=..., batch_size=...), got {loader!r}")
        if isinstance(loader, Mapping):
            _check_known(loader, DATALOADER_KEYS, name, errors)
            if "dataset" not in loader:
                errors.append(f"{name}.dataset: missing")

    train_cfg = data.get("train_cfg")
    if (
        isinstance(train_cfg, Mapping)
        and train_cfg.get("by_epoch", True)
        and train_cfg.get("type", "EpochBasedTrainLoop") == "EpochBasedTrainLoop"
        and "max_epochs" not in train_cfg
    ):
        errors.append("train_cfg.max_epochs: missing (an epoch-based loop needs it)")

    for path, node in _walk(data, ""):
        for key, (check, what) in VALUE_RULES.items():
            if key in node and not check(node[key]):
                full = f"{path}.{key}" if path else key
                errors.append(f"{full}: must be {what}, got {node[key]!r}")

    _check_clip_lengths(data, errors)
    optim = data.get("optim_wrapper")
    if isinstance(optim, Mapping) and optim.get("type") == "AmpOptimWrapper":
        import torch

        if not torch.cuda.is_available():
            errors.append(
                "optim_wrapper.type: mmengine's AmpOptimWrapper needs a GPU; on CPU use "
                "type='AutocastOptimWrapper', dtype='bfloat16'"
            )
    hooks = data.get("default_hooks")
    checkpoint = hooks.get("checkpoint") if isinstance(hooks, Mapping) else None
    save_best = checkpoint.get("save_best") if isinstance(checkpoint, Mapping) else None
    if save_best and data.get("val_dataloader") is None:
        errors.append(
            f"default_hooks.checkpoint.save_best: {save_best!r} selects on the validation "
            "split, but the config has no val_dataloader"
        )
    if errors:
        raise ConfigError(f"{source}: " + f"\n{source}: ".join(errors))


def check_runnable(cfg: Config, source: str = "config") -> None:
    """What running a model on a config's dataloaders needs beyond
    :func:`validate_config`: a ``model``, and a ``collate_fn`` named by every dataloader.
    Raises one :class:`ConfigError` listing what is missing."""
    errors: List[str] = []
    if "model" not in cfg:
        errors.append("model: missing")
    for name in DATALOADERS:
        loader = cfg.get(name)
        if isinstance(loader, Mapping) and loader.get("collate_fn") is None:
            # mmengine's own default (pseudo_collate) gives lists, not the stacked tensors
            # of the sample contract; a config says which one it wants
            errors.append(f"{name}.collate_fn: missing; the sample contract's batches need "
                          "collate_fn=dict(type='default_collate')")
    if errors:
        raise ConfigError(f"{source}: " + f"\n{source}: ".join(errors))
