"""Train and test with mmengine's Runner, adding only what this framework needs.

What is added around ``Runner.from_cfg``: the data root (``--data-root`` or
``PISA_DATA_ROOT``: what ``{{$PISA_DATA_ROOT:...}}`` in a config expands to, else written
into every dataset config that has ``data_root``), the work dir (default
``work_dirs/<config stem>``), seed and deterministic mode, a check that every dataloader
names its ``collate_fn`` (the sample contract's batches need ``default_collate``),
crash-safe checkpoints (:mod:`pisa.engine.checkpoint`), per-epoch reseeding (exact
resume), the report of bad samples (``BadSampleHook``; errors from DataLoader workers
arrive as one clear message), the distributed launch on CPU (gloo, initialised before the
Runner), selection of the final checkpoint on the validation split (or the test split
behind ``select_on_test``), and ``results.json`` / ``summary.json``.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from mmengine.config import Config
from mmengine.dist import is_main_process

from pisa.data.bad_samples import (
    BAD_SAMPLE_REPORT,
    BadSampleError,
    read_records,
    summarize_bad_samples,
    worker_error_message,
)
from pisa.engine.checkpoint import (
    ATOMIC_BACKEND_ARGS,
    find_last_complete_checkpoint,
    install_checkpoint_safety,
)
from pisa.engine.validate import ConfigError, check_config_paths, validate_config

DATA_ROOT_ENV = "PISA_DATA_ROOT"
DEFAULT_WORK_ROOT = "work_dirs"


@dataclass
class RunOptions:
    """Command-line choices for one ``pisa train`` / ``pisa test`` run.

    ``resume``: None (no resume), ``True`` (the last complete checkpoint in the work dir)
    or a checkpoint path."""

    work_dir: Optional[str] = None
    data_root: Optional[str] = None
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    seed: Optional[int] = None
    deterministic: bool = False
    launcher: str = "none"
    resume: Union[None, bool, str] = None
    select_on_test: bool = False


def load_config(
    config: Union[str, os.PathLike],
    cfg_options: Optional[Dict[str, Any]] = None,
    data_root: Optional[str] = None,
) -> Config:
    """Read an mmengine python config, refuse absolute data roots written in the file,
    apply ``cfg_options`` (dotted keys -> values) and validate the result
    (:class:`ConfigError`). ``data_root`` (already resolved) is what
    ``{{$PISA_DATA_ROOT:default}}`` in the config expands to while it is read."""
    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f"config {config} not found")
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
    if cfg_options:
        try:
            cfg.merge_from_dict(cfg_options)
        except TypeError as err:  # e.g. a nested key under a value that is not a dict
            raise ConfigError(f"{config}: --cfg-options: {err}") from None
    validate_config(cfg, str(config))
    return cfg


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


def set_data_root(cfg: Config, data_root: str) -> int:
    """Write ``data_root`` into every dict under the train/val/test dataloaders' datasets
    that has a ``data_root`` key; returns how many were set."""
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

    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = cfg.get(name)
        if loader is not None:
            visit(loader.get("dataset"))
    return count


def _mentions(cfg: Config, value: str) -> bool:
    """Whether any string in the dataloader sections starts with ``value``."""

    def visit(node: Any) -> bool:
        if isinstance(node, str):
            return node.startswith(value)
        if isinstance(node, dict):
            return any(visit(v) for v in node.values())
        if isinstance(node, (list, tuple)):
            return any(visit(v) for v in node)
        return False

    return any(
        visit(cfg.get(name)) for name in ("train_dataloader", "val_dataloader", "test_dataloader")
    )


def default_work_dir(config: Union[str, os.PathLike]) -> str:
    """``work_dirs/<config file stem>``."""
    return osp.join(DEFAULT_WORK_ROOT, Path(config).stem)


def _use_crash_safe_checkpoints(cfg: Config) -> None:
    hooks = cfg.setdefault("default_hooks", {})
    checkpoint = hooks.get("checkpoint")
    if checkpoint is not None and checkpoint.get("type") in (
        "CheckpointHook",
        "mmengine.CheckpointHook",
    ):
        checkpoint["type"] = "AtomicCheckpointHook"
    if checkpoint is not None and checkpoint.get("type") == "AtomicCheckpointHook":
        checkpoint.setdefault("backend_args", dict(ATOMIC_BACKEND_ARGS))
    custom = list(cfg.get("custom_hooks") or [])
    for hook in ("EpochSeedHook", "BadSampleHook"):
        if not any(h.get("type") == hook for h in custom):
            custom.append(dict(type=hook))
    cfg.custom_hooks = custom


def _setup_launcher(cfg: Config, launcher: str) -> None:
    import torch

    if launcher == "none":
        cfg.launcher = "none"
        return
    if launcher != "pytorch":
        raise ConfigError(f"--launcher: {launcher!r} is not supported (none, pytorch)")
    cfg.launcher = "pytorch"
    env_cfg = cfg.setdefault("env_cfg", {})
    dist_cfg = env_cfg.setdefault("dist_cfg", {})
    if torch.cuda.is_available():
        dist_cfg["backend"] = "nccl"
        return
    # mmengine's own init calls torch.cuda.set_device; on CPU the gloo group is made here,
    # before the Runner, which then sees an initialised group and skips its init
    import torch.distributed as dist

    dist_cfg["backend"] = "gloo"
    if not dist.is_initialized():
        missing = [
            k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ
        ]
        if missing:
            raise ConfigError(
                f"--launcher pytorch: environment variables {', '.join(missing)} are not set; "
                "start with torchrun --nproc-per-node N -m pisa.cli train ..."
            )
        dist.init_process_group(backend="gloo")
    wrapper = dict(cfg.get("model_wrapper_cfg") or {})
    wrapper.setdefault("type", "MMDistributedDataParallel")
    wrapper["device_ids"] = None
    wrapper.setdefault("find_unused_parameters", bool(cfg.get("find_unused_parameters", False)))
    cfg.model_wrapper_cfg = wrapper


def build_run_config(
    config: Union[str, os.PathLike], opts: RunOptions, for_training: bool = True
) -> Config:
    """The config mmengine's Runner is built from: the file plus ``opts`` applied."""
    install_checkpoint_safety()
    data_root = resolve_data_root(opts.data_root)
    cfg = load_config(config, opts.cfg_options, data_root)
    if data_root is not None and not _mentions(cfg, data_root):
        # a config that does not read {{$PISA_DATA_ROOT:...}}: set its datasets' data_root
        if set_data_root(cfg, data_root) == 0:
            raise ConfigError(
                f"{config}: no dataset in train/val/test_dataloader has a data_root key, so "
                f"--data-root/{DATA_ROOT_ENV} has nothing to set"
            )
    cfg.work_dir = opts.work_dir or cfg.get("work_dir") or default_work_dir(config)
    randomness = dict(cfg.get("randomness") or {})
    if opts.seed is not None:
        randomness["seed"] = opts.seed
    if opts.deterministic:
        randomness["deterministic"] = True
    randomness.setdefault("seed", 0)  # a run is reproducible unless asked otherwise
    cfg.randomness = randomness
    cfg.setdefault("default_scope", "pisa")
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if cfg.get(name) is not None and cfg[name].get("collate_fn") is None:
            # mmengine's own default (pseudo_collate) gives lists, not the stacked tensors
            # of the sample contract; a config says which one it wants
            raise ConfigError(
                f"{config}: {name}.collate_fn: missing; the sample contract's batches need "
                "collate_fn=dict(type='default_collate')"
            )
    _use_crash_safe_checkpoints(cfg)
    if for_training and opts.select_on_test:
        if cfg.get("test_dataloader") is None or cfg.get("test_evaluator") is None:
            raise ConfigError(
                f"{config}: --select-on-test needs test_dataloader and test_evaluator"
            )
        cfg.val_dataloader = copy.deepcopy(cfg.test_dataloader)
        cfg.val_evaluator = copy.deepcopy(cfg.test_evaluator)
        cfg.setdefault("val_cfg", dict())
    if for_training and opts.resume:
        if opts.resume is True:
            last = find_last_complete_checkpoint(cfg.work_dir)
            if last is None:
                raise FileNotFoundError(f"--resume: no complete checkpoint in {cfg.work_dir}")
            cfg.load_from = last
        else:
            if not osp.isfile(str(opts.resume)):
                raise FileNotFoundError(f"--resume: checkpoint {opts.resume} not found")
            cfg.load_from = str(opts.resume)
        cfg.resume = True
    _setup_launcher(cfg, opts.launcher)
    return cfg


def close_distributed() -> None:
    """Tear down the process group a ``--launcher pytorch`` run set up (no-op otherwise)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _json_ready(value: Any) -> Any:
    """Metrics as plain JSON values: numpy/torch scalars and arrays to numbers and lists,
    NaN/inf to None."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if hasattr(value, "tolist"):
        return _json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float, str, bool, type(None))):
        return value
    return str(value)


def write_json(path: Union[str, os.PathLike], data: Any) -> None:
    """Write ``data`` as indented JSON atomically (temp file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def plain_bad_sample_errors():
    """Re-raise a :class:`~pisa.data.bad_samples.BadSampleError` that came from a
    DataLoader worker with its own message (PyTorch puts the worker's traceback in it)."""
    try:
        yield
    except BadSampleError as err:
        message = worker_error_message(err)
        if message == str(err):
            raise
        raise type(err)(message) from err


def bad_sample_summary(work_dir: str) -> List[Dict[str, Any]]:
    """The bad samples of the run in ``work_dir`` (``BadSampleHook``'s report), one entry
    per sample with ``count``; empty when none failed."""
    return summarize_bad_samples(read_records(osp.join(work_dir, BAD_SAMPLE_REPORT)))


def _selected_checkpoint(runner) -> Optional[str]:
    hub = runner.message_hub
    for key in ("best_ckpt", "last_ckpt"):
        path = hub.get_info(key) if key in hub.runtime_info else None
        if path and osp.isfile(path):
            return path
    return find_last_complete_checkpoint(runner.work_dir)


def train(config: Union[str, os.PathLike], opts: RunOptions) -> Dict[str, Any]:
    """Train one run; afterwards load the selected checkpoint (best on the validation
    metric of ``default_hooks.checkpoint.save_best``, else the last), evaluate it on val
    and test, write ``<work_dir>/results.json`` (rank 0) and return its contents."""
    from mmengine.runner import Runner

    cfg = build_run_config(config, opts)
    runner = Runner.from_cfg(cfg)
    with plain_bad_sample_errors():
        runner.train()
        checkpoint = _selected_checkpoint(runner)
        if checkpoint is not None:
            runner.load_checkpoint(checkpoint)
        val_metrics = runner.val_loop.run() if cfg.get("val_dataloader") is not None else None
        test_metrics = runner.test_loop.run() if cfg.get("test_dataloader") is not None else None
    save_best = (cfg.get("default_hooks") or {}).get("checkpoint", {}).get("save_best")
    results = {
        "config": str(config),
        "work_dir": cfg.work_dir,
        "seed": cfg.randomness.get("seed"),
        "deterministic": bool(cfg.randomness.get("deterministic", False)),
        "checkpoint": checkpoint,
        "selected_on": ("test" if opts.select_on_test else "val") if save_best else "last",
        "select_metric": save_best,
        "select_on_test": bool(opts.select_on_test),
        "world_size": runner.world_size,
        "flags": {
            "launcher": opts.launcher,
            "resume": opts.resume if not isinstance(opts.resume, bool) else bool(opts.resume),
            "data_root": resolve_data_root(opts.data_root),
            "cfg_options": {k: str(v) for k, v in (opts.cfg_options or {}).items()},
        },
        "val_metrics": _json_ready(val_metrics),
        "test_metrics": _json_ready(test_metrics),
        "bad_samples": bad_sample_summary(cfg.work_dir),
    }
    if is_main_process():
        write_json(osp.join(cfg.work_dir, "results.json"), results)
    return results


def test(config: Union[str, os.PathLike], checkpoint: str, opts: RunOptions) -> Dict[str, Any]:
    """Evaluate ``checkpoint`` on the config's test split; writes
    ``<work_dir>/test_results.json`` (rank 0) and returns ``{'checkpoint', 'test_metrics'}``."""
    from mmengine.runner import Runner

    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f"checkpoint {checkpoint} not found")
    cfg = build_run_config(config, opts, for_training=False)
    if cfg.get("test_dataloader") is None or cfg.get("test_evaluator") is None:
        raise ConfigError(
            f"{config}: test_dataloader / test_evaluator: missing (pisa test needs them)"
        )
    cfg.load_from = checkpoint
    cfg.resume = False
    runner = Runner.from_cfg(cfg)
    with plain_bad_sample_errors():
        metrics = runner.test()
    results = {
        "config": str(config),
        "checkpoint": checkpoint,
        "test_metrics": _json_ready(metrics),
    }
    if is_main_process():
        write_json(osp.join(cfg.work_dir, "test_results.json"), results)
    return results


def summarize_seeds(runs: Sequence[Dict[str, Any]], split: str = "test") -> Dict[str, Any]:
    """Mean and spread over runs of each numeric ``<split>_metrics`` value:
    ``{'seeds': [...], 'metrics': {name: {'mean', 'std', 'values'}}}``; ``std`` is the sample
    standard deviation (ddof=1; 0.0 for a single run)."""
    import numpy as np

    names: List[str] = []
    for run in runs:
        for key, value in (run.get(f"{split}_metrics") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in names:
                names.append(key)
    metrics = {}
    for name in names:
        values = [
            run[f"{split}_metrics"][name]
            for run in runs
            if isinstance((run.get(f"{split}_metrics") or {}).get(name), (int, float))
        ]
        arr = np.asarray(values, dtype=float)
        metrics[name] = {
            "mean": float(arr.mean()),
            "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "values": [float(v) for v in arr],
        }
    return {"seeds": [run.get("seed") for run in runs], "split": split, "metrics": metrics}


def format_metrics(metrics: Dict[str, Any]) -> str:
    """``name=value`` pairs of the scalar metrics (lists such as confusion matrices left out)."""
    return "  ".join(
        f"{k}={v:.4f}"
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    )


def format_seed_table(summary: Dict[str, Any]) -> str:
    """A plain-text table: one row per metric with mean, std and the per-seed values."""
    seeds = summary["seeds"]
    header = ["metric", "mean", "std"] + [f"seed {s}" for s in seeds]
    rows = [
        [name, f"{m['mean']:.4f}", f"{m['std']:.4f}"] + [f"{v:.4f}" for v in m["values"]]
        for name, m in summary["metrics"].items()
    ]
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in [header] + rows]
    return "\n".join(lines)


def train_seeds(
    config: Union[str, os.PathLike], opts: RunOptions, seeds: Sequence[int]
) -> Dict[str, Any]:
    """Train once per seed in ``<work_dir>/seed<N>``; write ``<work_dir>/summary.json``
    (mean and std of the test metrics, or val metrics when there is no test split) and
    return it with the per-run results under ``'runs'``."""
    if not seeds:
        raise ConfigError("--seeds: give at least one seed")
    base = opts.work_dir or default_work_dir(config)
    runs = []
    for seed in seeds:
        run_opts = RunOptions(
            **{**asdict(opts), "seed": int(seed), "work_dir": osp.join(base, f"seed{seed}")}
        )
        runs.append(train(config, run_opts))
    split = "test" if any(r.get("test_metrics") for r in runs) else "val"
    summary = summarize_seeds(runs, split)
    summary.update(
        config=str(config),
        select_on_test=bool(opts.select_on_test),
        work_dirs=[r["work_dir"] for r in runs],
    )
    if is_main_process():
        write_json(osp.join(base, "summary.json"), summary)
    return {**summary, "runs": runs}
