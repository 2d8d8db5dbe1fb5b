"""Training hooks specific to this framework (mmengine's own hooks do the rest).

- :class:`EpochSeedHook` reseeds ``random``/numpy/torch at the start of each epoch from
  ``(seed, epoch)``, and each DataLoader worker's from ``(seed, epoch, rank, worker)``, so
  an epoch's random draws do not depend on what ran before it (validation, a resume): a
  resumed run trains exactly like an uninterrupted one.
- :class:`SampleIdLogHook` appends the ``sample_id`` of every training sample this rank
  saw to ``<work_dir>/sample_ids_rank<R>.txt`` (which shard each process trained on).
- :class:`ChannelsLastHook` puts the model's conv weights and the input clips in
  channels-last memory layout (``torch.channels_last_3d`` for 5-D video, ``channels_last``
  for 4-D audio), a CPU/GPU speed option that changes no numbers beyond rounding.
- :class:`DataWaitHook` logs the share of each training step spent waiting for data.
- :class:`BadSampleHook` points the datasets at ``<work_dir>/bad_samples.jsonl``, where
  every DataLoader worker appends the samples whose media failed
  (:mod:`pisa.data.core.bad_samples`), and logs their list after each epoch and at the end.
- :class:`ResumableEarlyStoppingHook`: mmengine's ``EarlyStoppingHook`` with its state
  (best value, validations without improvement) saved in checkpoints and restored on
  resume.
- :func:`early_stop_info`: whether an ``EarlyStoppingHook`` ended a run early, and why
  (``results.json``'s ``early_stop``).
"""

from __future__ import annotations

import os
import os.path as osp
from typing import Any, Optional

import torch
from mmengine.dist import barrier, get_rank, is_main_process
from mmengine.hooks import EarlyStoppingHook, Hook
from mmengine.runner.utils import set_random_seed

from pisa.registry import component

#: mixes the epoch into the seed so that (seed, epoch) pairs do not collide
_EPOCH_STRIDE = 1_000_003


@component("hook")
class EpochSeedHook(Hook):
    """Before each training epoch, seed ``random``, numpy and torch with
    ``(seed * 1_000_003 + epoch) mod 2**31`` (``seed`` = the runner's seed, plus the rank
    when ``diff_rank_seed``), and have every DataLoader worker of the training loader seed
    its own from ``(seed, epoch, rank, worker id)``.

    The workers' part (:class:`pisa.data.core.seeding.WorkerEpochSeeds`): before training, before
    any worker starts, the training datasets (inside mmengine's wrappers too, found as
    :func:`epoch_seeded_datasets`) get one shared-memory value the workers inherit; here
    the epoch is written to it, before the loop's ``iter()`` sends the epoch's first
    indices, persistent workers included. At the first sample a worker prepares in a new
    epoch it seeds ``random``, numpy and torch with the first 32-bit word of
    ``SeedSequence([seed mod 2**64, epoch, rank, worker_id])``, so what mmengine's
    ``worker_init_fn`` seeded once, or an earlier epoch drew, does not carry over, and a
    resumed run draws the flips and random clips of an uninterrupted one. A loader with
    persistent workers also gets a ``torch.Generator`` of its own (seeded with ``seed``)
    for the workers' base seed, which torch draws when it makes the loader's iterator,
    once, at a run's first epoch: from the global generator that draw would shift the
    model's dropout in a resumed run. With ``num_workers=0`` only the main process's
    seeding applies, as before."""

    priority = "VERY_HIGH"

    def before_train(self, runner) -> None:
        from pisa.data.core.seeding import WorkerEpochSeeds

        seed = runner.seed if runner.seed is not None else 0
        loader = runner.train_loop.dataloader
        self._worker_seeds = WorkerEpochSeeds(seed, get_rank())
        for dataset in epoch_seeded_datasets(loader.dataset):
            dataset.set_worker_epoch_seeds(self._worker_seeds)
        if (isinstance(loader, torch.utils.data.DataLoader) and loader.persistent_workers
                and loader.num_workers > 0 and loader.generator is None):
            # torch draws the workers' base seed when it makes the loader's iterator: with
            # persistent workers once, at the run's first epoch (a resumed run: a later
            # one), so from a generator of its own, not the global one dropout draws from
            loader.generator = torch.Generator().manual_seed(seed % 2**64)

    def before_train_epoch(self, runner) -> None:
        seed = runner.seed if runner.seed is not None else 0
        diff_rank = bool(runner.cfg.get("randomness", {}).get("diff_rank_seed", False))
        set_random_seed((seed * _EPOCH_STRIDE + runner.epoch) % 2**31, diff_rank_seed=diff_rank)
        worker_seeds = getattr(self, "_worker_seeds", None)
        if worker_seeds is not None:
            worker_seeds.set_epoch(runner.epoch)


@component("hook")
class SampleIdLogHook(Hook):
    """Record the training samples each rank sees: one line ``epoch<TAB>sample_id`` per
    sample in ``<work_dir>/sample_ids_rank<R>.txt`` (reads ``data_samples['sample_id']``
    of the collated batch, a list of str)."""

    def before_train(self, runner) -> None:
        self._path = osp.join(runner.work_dir, f"sample_ids_rank{get_rank()}.txt")

    def after_train_iter(
        self, runner, batch_idx: int, data_batch: Any = None, outputs: Optional[dict] = None
    ) -> None:
        samples = data_batch.get("data_samples") if isinstance(data_batch, dict) else None
        ids = samples.get("sample_id") if isinstance(samples, dict) else None
        if ids is None:
            raise KeyError(
                "SampleIdLogHook: the training batch has no data_samples['sample_id'] "
                "(see the sample contract in DEVELOPERS.md)"
            )
        with open(self._path, "a", encoding="utf-8") as f:
            f.writelines(f"{runner.epoch}\t{sample_id}\n" for sample_id in ids)
            f.flush()
            os.fsync(f.fileno())


def _channels_last(tensor: torch.Tensor, channel_dim: int) -> torch.Tensor:
    """Same values, channel dimension stored innermost. Leading (batch, clip) dimensions
    stay outermost, so flattening them keeps the channels-last strides."""
    if channel_dim < 0 and tensor.dim() < -channel_dim:
        return tensor
    moved = tensor.movedim(channel_dim, -1).contiguous()
    return moved.movedim(-1, channel_dim)


#: input key -> position of the channel dimension (video clips (C, T, H, W), audio (C, F, W))
_CHANNEL_DIM = {"video": -4, "audio": -3}


@component("hook")
class ChannelsLastHook(Hook):
    """Channels-last layout for the model's 4-D/5-D parameters (before training, validation
    and testing) and for ``data_batch['inputs']['video']`` (``(..., C, T, H, W)``) and
    ``['audio']`` (``(..., C, F, W)``) before each iteration; the data preprocessor's
    elementwise normalisation and the model's flattening of ``(B, K)`` keep the layout."""

    priority = "HIGH"

    def _convert_model(self, runner) -> None:
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        for module in model.modules():
            for _, param in module.named_parameters(recurse=False):
                if param.dim() in (4, 5):  # conv weights (O, I, [T,] H, W)
                    param.data = _channels_last(param.data, 1)

    def _convert_inputs(self, data_batch: Any) -> None:
        inputs = data_batch.get("inputs") if isinstance(data_batch, dict) else None
        if not isinstance(inputs, dict):
            return
        for key, value in inputs.items():
            dim = _CHANNEL_DIM.get(key)
            if dim is None:
                continue
            if isinstance(value, torch.Tensor):
                inputs[key] = _channels_last(value, dim)
            elif isinstance(value, list):
                inputs[key] = [
                    _channels_last(v, dim) if isinstance(v, torch.Tensor) else v for v in value
                ]

    def before_train(self, runner) -> None:
        self._convert_model(runner)

    def before_val(self, runner) -> None:
        self._convert_model(runner)

    def before_test(self, runner) -> None:
        self._convert_model(runner)

    def before_train_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
        self._convert_inputs(data_batch)

    def before_val_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
        self._convert_inputs(data_batch)

    def before_test_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
        self._convert_inputs(data_batch)


def reporting_datasets(dataset: Any) -> list:
    """The datasets in ``dataset`` that report bad samples (they have
    ``set_bad_sample_report``, as every ``AQABaseDataset`` and any plugin dataset that
    follows it does), looking inside mmengine's wrappers (``ConcatDataset.datasets``,
    ``RepeatDataset.dataset``, ...)."""
    return datasets_with(dataset, "set_bad_sample_report")


def epoch_seeded_datasets(dataset: Any) -> list:
    """The datasets in ``dataset`` whose DataLoader workers can be seeded per epoch (they
    have ``set_worker_epoch_seeds``, as every ``AQABaseDataset`` does), looking inside
    mmengine's wrappers as :func:`reporting_datasets` does."""
    return datasets_with(dataset, "set_worker_epoch_seeds")


def datasets_with(dataset: Any, method: str) -> list:
    """The datasets in ``dataset`` that have a ``method``, looking inside mmengine's
    wrappers (``ConcatDataset.datasets``, ``RepeatDataset.dataset``, ...)."""
    if callable(getattr(dataset, method, None)):
        return [dataset]
    inner = getattr(dataset, "datasets", None)
    if inner is None and getattr(dataset, "dataset", None) is not None:
        inner = [dataset.dataset]
    return [d for sub in (inner or []) for d in datasets_with(sub, method)]


@component("hook")
class BadSampleHook(Hook):
    """Report samples whose media fail during a run.

    When training starts (rank 0, not when resuming) the report file
    ``<work_dir>/<filename>`` is started afresh; before training, validation and testing
    the loops' datasets are pointed at it, tagged ``train`` / ``val`` / ``test`` (before
    any DataLoader worker starts, so workers inherit it). After each training epoch and at
    the end of training the bad samples so far (file, frames, error, count) are logged as
    a warning; ``pisa train`` adds them to ``results.json`` as ``bad_samples``. Datasets
    skip or raise as their ``on_bad_sample`` and ``max_bad_samples`` say."""

    priority = "VERY_HIGH"

    def __init__(self, filename: str = "bad_samples.jsonl") -> None:
        self.filename = filename
        self._logged = 0

    def report_path(self, runner) -> str:
        """``<work_dir>/<filename>``."""
        return osp.join(runner.work_dir, self.filename)

    def _point(self, runner, loop_name: str, split: str) -> None:
        loop = getattr(runner, loop_name)
        for dataset in reporting_datasets(loop.dataloader.dataset):
            dataset.set_bad_sample_report(self.report_path(runner), split,
                                          write_build_records=is_main_process())

    def before_train(self, runner) -> None:
        path = self.report_path(runner)
        if is_main_process() and not getattr(runner, "_resume", False) and osp.exists(path):
            os.remove(path)  # a new run; a resumed one keeps counting its earlier failures
        barrier()
        self._point(runner, "train_loop", "train")

    def before_val(self, runner) -> None:
        self._point(runner, "val_loop", "val")

    def before_test(self, runner) -> None:
        self._point(runner, "test_loop", "test")

    def _log(self, runner, when: str) -> None:
        from pisa.data.core import bad_samples as bad_lib

        summary = bad_lib.summarize_bad_samples(bad_lib.read_records(self.report_path(runner)))
        failures = sum(entry["count"] for entry in summary)
        if not summary or failures == self._logged:
            return
        self._logged = failures
        runner.logger.warning(
            f"{len(summary)} bad sample(s) {when} ({failures} failed reads; "
            f"{self.report_path(runner)}):\n{bad_lib.format_bad_samples(summary)}")

    def after_train_epoch(self, runner) -> None:
        self._log(runner, f"after epoch {runner.epoch}")

    def after_train(self, runner) -> None:
        self._log(runner, "in training")


@component("hook")
class DataWaitHook(Hook):
    """Log ``data_wait``: the share of each training step spent waiting for the batch
    (mmengine's ``data_time`` over ``time``, both measured by its ``IterTimerHook``), so
    a run shows whether it is bound by its data. Logged with the other scalars (averaged
    over the logger's window); the run's share goes into the log at the end and into
    ``results.json`` (``data_wait``). The first step of each epoch, which also waits for
    the DataLoader workers to start, is left out of the run's share."""

    # after IterTimerHook (NORMAL, 50) has timed the step, before LoggerHook (60) logs it
    priority = 55

    def before_train(self, runner) -> None:
        self._waited = self._total = 0.0

    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        hub = runner.message_hub
        if "train/time" not in hub.log_scalars or "train/data_time" not in hub.log_scalars:
            return
        waited = hub.get_scalar("train/data_time").current()
        total = hub.get_scalar("train/time").current()
        if total > 0:
            hub.update_scalar("train/data_wait", waited / total)
            if batch_idx > 0:
                self._waited += waited
                self._total += total

    def after_train(self, runner) -> None:
        if self._total > 0:
            runner.message_hub.update_info("data_wait", self._waited / self._total)
            runner.logger.info(f"waiting for data: {100 * self._waited / self._total:.1f} % of "
                               f"the training time ({self._waited:.1f} of {self._total:.1f} s)")


@component("hook")
class ResumableEarlyStoppingHook(EarlyStoppingHook):
    """mmengine's ``EarlyStoppingHook`` (same arguments) whose state, the best monitored
    value and the count of validations without improvement, goes into every checkpoint's
    ``meta['early_stopping']`` and is restored when a run resumes (not when a checkpoint
    is only loaded, ``load_from``, to start a new run, nor when the selected checkpoint
    is loaded after training). With the validation that
    :class:`pisa.engine.checkpoint.AtomicCheckpointHook` repeats on resume, a resumed run
    stops at the epoch an uninterrupted one stops at; mmengine's hook would count its
    patience afresh."""

    _training = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault("meta", {})["early_stopping"] = {
            "best_score": float(self.best_score), "wait_count": int(self.wait_count)}

    def before_train(self, runner) -> None:
        self._training = True

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = (checkpoint.get("meta") or {}).get("early_stopping")
        # a resume loads its checkpoint before training starts; later loads are not resumes
        if state is not None and runner.cfg.get("resume", False) and not self._training:
            self.best_score = float(state["best_score"])
            self.wait_count = int(state["wait_count"])


def early_stop_info(runner) -> Optional[dict]:
    """What mmengine's ``EarlyStoppingHook`` did in a finished run, for ``results.json``;
    None when the run has no such hook.

    ``{'stopped': bool, 'epoch': epochs trained, 'max_epochs': ..., 'monitor': ...,
    'rule': ..., 'min_delta': ..., 'patience': ..., 'best': the best monitored value,
    'reason': text}``. ``stopped`` is whether training ended before ``max_epochs``: read
    from the training loop, not from the hook's ``train_loop.stop_training`` flag, which
    validations after training (the selected checkpoint's evaluation) can set again."""
    from math import isfinite

    hook = next((h for h in runner.hooks if isinstance(h, EarlyStoppingHook)), None)
    if hook is None:
        return None
    loop = runner.train_loop
    epoch, max_epochs = int(getattr(loop, "epoch", 0)), getattr(loop, "max_epochs", None)
    stopped = (bool(getattr(loop, "stop_training", False)) and max_epochs is not None
               and epoch < max_epochs)
    best = float(hook.best_score) if isfinite(hook.best_score) else None
    # the hook keeps min_delta negated for rule 'less'
    min_delta = abs(float(hook.min_delta))
    threshold = hook.stopping_threshold
    best_text = "none" if best is None else f"{best:.4f}"
    if not stopped and runner.val_loop is None:
        reason = f"no validation loop: {hook.monitor} was never evaluated"
    elif not stopped:
        reason = f"trained all {max_epochs} epochs"
    elif threshold is not None and best is not None and hook.rule_map[hook.rule](best, threshold):
        reason = f"{hook.monitor} = {best_text} passed the stopping threshold {threshold}"
    elif hook.wait_count >= hook.patience:
        reason = (f"{hook.monitor} did not improve on its best ({best_text}) by at least "
                  f"{min_delta} for {hook.patience} validation(s) in a row")
    else:
        reason = f"{hook.monitor} was not finite"
    return {"stopped": stopped, "epoch": epoch, "max_epochs": max_epochs,
            "monitor": hook.monitor, "rule": hook.rule, "min_delta": min_delta,
            "patience": int(hook.patience), "best": best, "reason": reason}
