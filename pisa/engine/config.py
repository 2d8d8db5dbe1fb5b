"""One config path for every command: read the file, apply ``--data-root`` and
``--cfg-options``, validate.

``train``, ``test``, ``predict``, ``prepare``, ``config`` and the Python API all load a
config with :func:`load_config`, so each takes the same options with the same meaning:

- ``data_root``: ``--data-root DIR``, else ``$PISA_DATA_ROOT``, else the config's own
  relative default. It is what ``{{$PISA_DATA_ROOT:default}}`` in the config expands to;
  a config that does not read the variable gets it as the ``data_root`` of every dataset
  of its dataloaders (and its top-level ``dataset``).
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


def _set_data_root(cfg: Config, data_root: str) -> int:
    """Write ``data_root`` into every dict under the config's datasets that has a
    ``data_root`` key; returns how many were set."""
    count = 0

    def visit(node: Any) -> None:
        nonlocal count
        if isinstance(node, dict):
            if "data_root" in node:
                node["data_root"] = data_root
                count += 1
            for value in node.values():
                visit(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                visit(value)

    for dataset in dataset_configs(cfg).values():
        visit(dataset)
    return count


def _mentions(cfg: Config, value: str) -> bool:
    """Whether any string in the config's datasets starts with ``value``."""

    def visit(node: Any) -> bool:
        if isinstance(node, str):
            return node.startswith(value)
        if isinstance(node, dict):
            return any(visit(v) for v in node.values())
        if isinstance(node, (list, tuple)):
            return any(visit(v) for v in node)
        return False

    return any(visit(d) for d in dataset_configs(cfg).values())


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
    if data_root is not None and not _mentions(cfg, data_root):
        # a config that does not read {{$PISA_DATA_ROOT:...}}: set its datasets' data_root
        if _set_data_root(cfg, data_root) == 0:
            raise ConfigError(
                f"{config}: no dataset in the config has a data_root key, so "
                f"--data-root/{DATA_ROOT_ENV} has nothing to set"
            )
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except TypeError as err:  # e.g. a nested key under a value that is not a dict
            raise ConfigError(f"{config}: --cfg-options: {err}") from None
    validate_config(cfg, str(config))
    return cfg


def default_work_dir(config: Union[str, os.PathLike]) -> str:
    """``work_dirs/<config file stem>``."""
    return osp.join(DEFAULT_WORK_ROOT, Path(config).stem)


