"""Checkpoints during a run: saved crash-safe, found again for ``--resume``, selected
after training.

Loading goes through :mod:`pisa.io.safe_load` (``weights_only=True`` with an explicit
allowlist). Saving: :class:`AtomicCheckpointHook` saves through the ``'atomic_local'``
file backend (:class:`pisa.io.atomic.AtomicLocalBackend`: temporary file, fsync,
rename), so a kill during a save leaves the previous file intact; it writes
``last_checkpoint`` only after the rename (also atomically), and removes old checkpoints
only after the new one is complete. :func:`find_last_complete_checkpoint` picks what
``--resume`` resumes from; :func:`selected_checkpoint` what a finished run is tested with.
"""

from __future__ import annotations

import os
import os.path as osp
import re
import zipfile
from pathlib import Path
from typing import Any, List, Optional, Tuple, Union

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from pisa.io.atomic import ATOMIC_BACKEND_ARGS, atomic_write
from pisa.io.safe_load import install_checkpoint_safety
from pisa.registry import component

_CKPT_NAME = re.compile(r"^(?:epoch|iter)_(\d+)\.pth$")


def is_complete_checkpoint(path: Union[str, os.PathLike]) -> bool:
    """Whether ``path`` is a whole torch zip checkpoint (its central directory reads and
    every member's CRC matches); cheap next to loading it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def find_last_complete_checkpoint(work_dir: Union[str, os.PathLike]) -> Optional[str]:
    """The checkpoint ``--resume`` should use: the one ``last_checkpoint`` names if it is
    complete, else the newest complete ``epoch_N.pth`` / ``iter_N.pth``; None if none."""
    work_dir = Path(work_dir)
    pointer = work_dir / "last_checkpoint"
    if pointer.is_file():
        named = pointer.read_text().strip()
        if named and is_complete_checkpoint(named):
            return named
    candidates = []
    if work_dir.is_dir():
        for path in work_dir.iterdir():
            match = _CKPT_NAME.match(path.name)
            if match:
                candidates.append((int(match.group(1)), path))
    for _, path in sorted(candidates, reverse=True):
        if is_complete_checkpoint(path):
            return str(path)
    return None


class _DeferredRemoval:
    """Wraps a file backend so that ``remove``/``rmtree`` wait until :meth:`flush`."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._pending: List[Tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def remove(self, path: str) -> None:
        self._pending.append(("remove", path))

    def rmtree(self, path: str) -> None:
        self._pending.append(("rmtree", path))

    def flush(self) -> None:
        for op, path in self._pending:
            if op == "remove" and self._backend.isfile(path):
                self._backend.remove(path)
            elif op == "rmtree" and self._backend.isdir(path):
                self._backend.rmtree(path)
        self._pending.clear()


@component("hook")
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` made crash-safe: checkpoints go through the
    ``'atomic_local'`` backend, ``last_checkpoint`` is rewritten atomically after the
    checkpoint's rename, and outdated checkpoints (regular and best) are removed only
    after the new one is complete. Takes the same arguments as ``CheckpointHook``.

    A resumed run repeats the validation of the epoch it resumes from. mmengine saves an
    epoch's checkpoint before that epoch's validation and resumes at the next epoch, so
    without the repeat the resumed run never sees that validation: the best checkpoint
    would be chosen (and early stopping counted) on one validation fewer than in an
    uninterrupted run. Validation draws nothing the next epoch's training uses (each
    epoch is reseeded), so the weights stay those of an uninterrupted run."""

    def __init__(self, *args: Any, backend_args: Optional[dict] = None, **kwargs: Any) -> None:
        install_checkpoint_safety()
        super().__init__(*args, backend_args=dict(backend_args or ATOMIC_BACKEND_ARGS), **kwargs)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        loop = runner.train_loop
        epoch = int(getattr(loop, "epoch", 0))
        if epoch == 0 or runner.val_loop is None or not hasattr(loop, "val_interval"):
            return  # a fresh run, or no per-epoch validation to repeat
        loop._decide_current_val_interval()
        if epoch >= loop.val_begin and (epoch % loop.val_interval == 0 or epoch == loop.max_epochs):
            runner.logger.info(f"resumed after epoch {epoch}: repeating its validation, which "
                               "ran after its checkpoint was written")
            runner.val_loop.run()

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        real = self.file_backend
        deferred = _DeferredRemoval(real)
        self.file_backend = deferred
        pointer = osp.join(runner.work_dir, "last_checkpoint")
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.file_backend = real
        if is_main_process():
            # mmengine wrote the pointer with a plain open(); make it atomic
            atomic_write(pointer, str(self.last_ckpt))
        deferred.flush()

    def _save_best_checkpoint(self, runner, metrics) -> None:
        real = self.file_backend
        deferred = _DeferredRemoval(real)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = real
        deferred.flush()


def selected_checkpoint(runner) -> Optional[str]:
    """The checkpoint a finished training run is evaluated with: the best one on the
    validation metric (``save_best``) if it was saved, else the last; else the newest
    complete one in the work dir."""
    hub = runner.message_hub
    for key in ("best_ckpt", "last_ckpt"):
        path = hub.get_info(key) if key in hub.runtime_info else None
        if path and osp.isfile(path):
            return path
    return find_last_complete_checkpoint(runner.work_dir)


def run_member_checkpoints(run_dir: Union[str, os.PathLike]) -> List[str]:
    """The checkpoints of an ensemble: the one each run of a ``--seeds`` or ``--folds``
    call selected, from ``<run_dir>/summary.json`` (its ``work_dirs``) and each run's
    ``results.json``. A work dir recorded relative to where training ran is looked up
    under ``run_dir`` too. Errors name the file that is missing or lacks the entry."""
    import json

    run_dir = Path(run_dir)
    summary_path = run_dir / "summary.json"
    if not summary_path.is_file():
        raise FileNotFoundError(f"{run_dir}: no summary.json (an ensemble is the folder of one "
                                "`pisa train --seeds ...` or `--folds ...` call)")
    with open(summary_path, encoding="utf-8") as f:
        work_dirs = json.load(f).get("work_dirs") or []
    if not work_dirs:
        raise ValueError(f"{summary_path}: lists no work_dirs")
    members = []
    for work_dir in work_dirs:
        folder = Path(work_dir)
        if not (folder / "results.json").is_file():
            folder = run_dir / folder.name
        results_path = folder / "results.json"
        if not results_path.is_file():
            raise FileNotFoundError(f"{summary_path}: run {work_dir} has no results.json")
        with open(results_path, encoding="utf-8") as f:
            checkpoint = json.load(f).get("checkpoint")
        if not checkpoint:
            raise ValueError(f"{results_path}: names no checkpoint")
        path = Path(checkpoint)
        if not path.is_file():
            path = folder / path.name
        if not path.is_file():
            raise FileNotFoundError(f"{results_path}: checkpoint {checkpoint} not found")
        members.append(str(path))
    return members


def freeze_checkpoint_selection(runner) -> None:
    """Stop the run's checkpoint hooks from saving a "best" checkpoint: the evaluation
    after training re-runs the validation loop (with a calibrated decision its metrics
    change), which must not replace or delete the checkpoint already selected."""
    for hook in runner.hooks:
        if isinstance(hook, CheckpointHook):
            hook.save_best = None
