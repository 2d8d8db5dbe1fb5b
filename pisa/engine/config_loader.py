"""One config path for every command: read the file, apply ``--data-root`` and
``--cfg-options``, validate.

``train``, ``test``, ``predict``, ``prepare``, ``config`` and the Python API all load a
config with :func:`load_config`, so each takes the same options with the same meaning:

- ``data_root``: ``--data-root DIR``, else ``$PISA_DATA_ROOT``, else the config's own
  relative default. It is what ``{{$PISA_DATA_ROOT:default}}`` in the config expands to;
  every dataset ``data_root`` not already under it (a config that does not read the
  variable) is set to it, in the dataloaders' datasets and a top-level ``dataset``, and a
  dataset without one gets it.
- ``cfg_options``: dotted keys -> values, merged last.
- then :func:`pisa.engine.validate.validate_config`: errors name the file and the key.

:func:`dataset_configs` names the datasets a config holds.
"""
from __future__ import annotations

import os
import os.path as osp
from pathlib import Path
from typing import Any, Dict, Optional, Union

from mmengine.config import Config

from pisa.engine.validate import DATALOADERS, ConfigError, check_config_paths, validate_config
from pisa.io.media import use_backends

DATA_ROOT_ENV = "PISA_DATA_ROOT"
DEFAULT_WORK_ROOT = "work_dirs"


def dataset_configs(cfg: Any) -> Dict[str, Any]:
    """The dataset configs a config holds: ``{'<loader>': dataset}`` for each of
    :data:`DATALOADERS` that has one, and ``{'dataset': ...}`` for a dataset-only config
    (a top-level ``dataset``)."""
    found = {}
    for name in DATALOADERS:
        loader = cfg.get(name)
        if loader and loader.get("dataset"):
            found[name] = loader["dataset"]
    if not found and cfg.get("dataset"):
        found["dataset"] = cfg["dataset"]
    return found


def resolve_data_root(data_root: Optional[str]) -> Optional[str]:
    """``data_root`` from the command line, else ``$PISA_DATA_ROOT``, else None (keep the
    config's own relative default), as an absolute path. Raises ``FileNotFoundError`` for a
    missing folder."""
    value = data_root or os.environ.get(DATA_ROOT_ENV) or None
    if value is None:
        return None
    if not osp.isdir(value):
        source = "--data-root" if data_root else DATA_ROOT_ENV
        raise FileNotFoundError(f"data root {value} (from {source}) is not a folder")
    return osp.abspath(value)


def _apply_data_root(cfg: Config, data_root: str) -> int:
    """Give every dict under the config's datasets that has a ``data_root`` key the
    ``data_root``, unless its value is already under it (the config read
    ``{{$PISA_DATA_ROOT:...}}``, e.g. ``data_root + '/videos'``); a dataset with no such key
    anywhere gets one (every AQA dataset takes ``data_root``). Returns how many datasets
    the config holds."""

    def visit(node: Any) -> int:
        found = 0
        if isinstance(node, dict):
            if "data_root" in node:
                found += 1
                if not str(node["data_root"] or "").startswith(data_root):
                    node["data_root"] = data_root
            for value in node.values():
                found += visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                found += visit(value)
        return found

    datasets = list(dataset_configs(cfg).values())
    for dataset in datasets:
        if visit(dataset) == 0 and isinstance(dataset, dict):
            dataset["data_root"] = data_root
    return len(datasets)


def load_config(
    config: Union[str, os.PathLike],
    cfg_options: Optional[Dict[str, Any]] = None,
    data_root: Optional[str] = None,
) -> Config:
    """Read an mmengine python config, refuse absolute data roots written in the file,
    apply ``data_root`` (the ``--data-root`` value, or None for ``$PISA_DATA_ROOT`` / the
    config's default; see the module docstring) and ``cfg_options``, and validate the
    result. Raises ``FileNotFoundError`` or :class:`ConfigError` naming the file."""
    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f"config {config} not found")
    data_root = resolve_data_root(data_root)
    saved = os.environ.get(DATA_ROOT_ENV)
    if data_root is not None:
        os.environ[DATA_ROOT_ENV] = data_root
    try:
        cfg = Config.fromfile(str(path))
    except (SyntaxError, NameError, ImportError, KeyError, FileNotFoundError) as err:
        raise ConfigError(f"{config}: cannot read config: {type(err).__name__}: {err}") from None
    finally:
        if data_root is not None:
            if saved is None:
                os.environ.pop(DATA_ROOT_ENV, None)
            else:
                os.environ[DATA_ROOT_ENV] = saved
    check_config_paths(cfg, str(config), allowed_root=data_root)
    if data_root is not None:
        if _apply_data_root(cfg, data_root) == 0:
            raise ConfigError(
                f"{config}: the config holds no dataset (train/val/test_dataloader.dataset "
                f"or dataset), so --data-root/{DATA_ROOT_ENV} has nothing to set"
            )
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except TypeError as err:  # e.g. a nested key under a value that is not a dict
            raise ConfigError(f"{config}: --cfg-options: {err}") from None
    validate_config(cfg, str(config))
    # the process's decoders, and its DataLoader workers' (through their environment)
    use_backends(cfg.get("video_backend"), cfg.get("audio_backend"), source=str(config))
    return cfg


def default_work_dir(config: Union[str, os.PathLike]) -> str:
    """``work_dirs/<config file stem>``."""
    return osp.join(DEFAULT_WORK_ROOT, Path(config).stem)


