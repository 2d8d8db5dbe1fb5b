"""What every AQA dataset shares: performances -> samples -> pipeline.

An adapter (PISA, generic CSV, MTL-AQA, ...) subclasses :class:`AQABaseDataset` and
implements :meth:`~AQABaseDataset.load_performances`, returning one dict per performance
(a trimmed stretch of one recording with one target):

===============  ==============================================================
``perf_id``      str, unique within the dataset
``video_path``   a video file, or None when ``frame_dir`` is given
``frame_dir``    a folder of ``*.jpg`` frames (sorted by name), or None
``audio_path``   a wav aligned with the video, or None for the video's own track
``frame_offset`` int, source frame of the performance's first frame
``num_frames``   int frames in the performance, or None for "to the end"
``fps``          float, or None to take the video's
``crop_box``     ``(x1, y1, x2, y2)`` source pixels, or None
``label``        int class index (-1 for none); ``score`` float
``group``        str, what pooled metrics group by (the performance)
``ann_source``   str naming the annotation row, for error messages
``samples``      optional ``(S, K, T)`` frame indices given by the annotation
                 (else the dataset's clip sampler draws them), with optional
                 ``sample_indices`` (their numbers; default ``0..S-1``)
===============  ==============================================================

``recordings=[record, ...]`` gives the records directly instead of
:meth:`~AQABaseDataset.load_performances`: the adapter's type, pipeline and sampler over
other media, e.g. one recording to assess (:mod:`pisa.apis`).

The base checks the media once at start-up (file present, non-empty, decodable, crop box
inside the frame, enough frames, an audio track when audio is needed), cuts each
performance into samples with the clip sampler, and keeps one flat record per sample in
mmengine's serialised data list (one numpy buffer, shared by DataLoader workers instead of
copied). With ``cache_dir`` samples are read from the prepared cache
(:mod:`pisa.data.core.cache`) and the media are not opened at all.

Bad media (:mod:`pisa.data.core.bad_samples`): a performance that fails the start-up check, or
a sample whose media fail to decode later (a file truncated or replaced after the dataset
was built), raises an error naming the file, the frames and the cause
(``on_bad_sample='error'``, the default), or with ``on_bad_sample='skip'`` is reported
with a warning and dropped (a training sample is replaced by another one, mmengine's
refetch; a ``test_mode`` dataset never skips a sample, it would change the metrics).
Every failure is written to the report file when one is set
(:meth:`AQABaseDataset.set_bad_sample_report`, done by ``BadSampleHook``), and
``max_bad_samples`` caps how many distinct bad samples a run tolerates, counted across
DataLoader workers through that file.

Randomness in DataLoader workers (:class:`WorkerEpochSeeds`, set by ``EpochSeedHook``):
at the first sample a worker prepares in an epoch, its ``random``, numpy and torch
generators are seeded from ``(seed, epoch, rank, worker id)``, persistent workers
included, so the flips and random clips of an epoch do not depend on what the worker
did before (a resumed run draws like an uninterrupted one).
"""
from __future__ import annotations

import multiprocessing
import os
import random
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from pisa.data.core import bad_samples as bad_lib
from pisa.data.core import cache as cache_lib
from pisa.data.core.bad_samples import BadSampleWarning
from pisa.data.core.records import FPS_MISMATCH, resolve_fps
from pisa.data.core.clip_samplers import ClipSampler, without_jitter
from pisa.data.core.splits import (assign_folds, carve_validation, check_fraction, level_counts,
                               nested_fraction)
from pisa.data.transforms.clip_transforms import CropResize, LoadAudio
from pisa.io.jsonlines import append_json_line
from pisa.io.media import FrameSource, check_crop_box, load_audio

def build_clip_sampler(cfg: Union[None, Dict, ClipSampler], default: ClipSampler) -> ClipSampler:
    """A sampler from a config dict (registry ``clip_sampler``), an instance, or the default."""
    if cfg is None:
        return default
    if isinstance(cfg, dict):
        from pisa.registry import CLIP_SAMPLERS

        return CLIP_SAMPLERS.build(dict(cfg))
    if not callable(cfg):
        raise TypeError(f"clip_sampler must be a config dict or a clip sampler, got {type(cfg).__name__}")
    return cfg


def build_pipeline(pipeline: Sequence[Any]) -> List[Any]:
    """Build config dicts with pisa's transform registry (so no default scope is needed)."""
    from pisa.registry import TRANSFORMS

    return [TRANSFORMS.build(dict(t)) if isinstance(t, dict) else t for t in pipeline]


class AQABaseDataset(BaseDataset):
    """Base of the AQA datasets (see the module docstring for the performance record).

    Args:
        data_root: folder the annotation's relative paths are under.
        pipeline: transforms (config dicts or callables), ending in ``PackAQAInputs``.
        clip_sampler: clip sampler config (``dict(type='UniformSampler', num_clips=10,
            clip_len=16)``) or instance; the adapter's default when None.
        modalities: ``('video', 'audio')`` or a subset: what the media check demands.
        cache_dir: read samples from this prepared cache (:mod:`pisa.data.core.cache`);
            ``'auto'``: ``$PISA_CACHE_DIR``, else ``~/.cache/pisa/prepared``.
        fill_cache: with ``cache_dir``, a performance without an entry is decoded the
            first time one of its samples is read and its entry written then (atomically;
            one process writes it, the others read the sources meanwhile), so later reads
            come from the cache without a separate ``pisa prepare``. False: a missing entry
            is an error.
        on_bad_sample: ``'error'`` (default) or ``'skip'`` (warn, report and drop).
        max_bad_samples: with ``'skip'``, how many distinct bad samples are tolerated
            before an error lists them all: a count, a fraction in (0, 1) of the samples,
            or None (no cap).
        check_media: open every source once at start-up to report bad media early.
        recordings: performance records (module docstring) to use instead of
            :meth:`load_performances`; the adapter's annotation files are then not read.
        val_performances: carve a validation split from the adapter's training
            performances (:func:`pisa.data.core.splits.carve_validation`: a count or a fraction,
            grouped by performer, stratified by level): ``split='val'`` is then the carved
            part and ``split='train'`` the rest. None: the adapter's own splits.
        split_seed: the seed of that carve and of the folds.
        folds, fold: ``folds``-fold cross-validation over the adapter's training
            performances (:func:`pisa.data.core.splits.assign_folds`: grouped by performer,
            stratified by level): ``split='test'`` is fold ``fold``, ``split='train'`` the
            other folds (less the validation carve, when ``val_performances`` is set, which
            ``split='val'`` is then).
        fps_mismatch: a video whose own frame rate differs from the annotation's by more
            than 0.5 %: ``'error'`` (default, naming both) or ``'video'`` (follow the
            video, with a warning).
        train_fraction: train on this share (in (0, 1]) of the training split only, after
            the validation carve and the folds (so val and test do not change):
            :func:`pisa.data.core.splits.nested_fraction`, whole performers, stratified by
            level, nested for one ``train_fraction_seed`` (None: ``split_seed``); for
            learning curves. None: all of it.
    """

    METAINFO: dict = dict(num_classes=10)
    #: whether ``split='val'`` exists only as a carve (the adapter has no val annotations)
    _carves_val = True

    def __init__(self, data_root: str = "", ann_file: str = "", pipeline: Sequence[Any] = (),
                 clip_sampler: Union[None, Dict, ClipSampler] = None,
                 modalities: Sequence[str] = ("video", "audio"), cache_dir: Optional[str] = None,
                 on_bad_sample: str = "error", max_bad_samples: Union[None, int, float] = None,
                 check_media: bool = True, test_mode: bool = False,
                 lazy_init: bool = False, serialize_data: bool = True, max_refetch: int = 100,
                 metainfo: Optional[dict] = None,
                 recordings: Optional[Sequence[dict]] = None,
                 val_performances: Union[None, int, float] = None, split_seed: int = 0,
                 folds: Optional[int] = None, fold: int = 0,
                 train_fraction: Optional[float] = None,
                 train_fraction_seed: Optional[int] = None,
                 fps_mismatch: str = "error", fill_cache: bool = True,
                 sampler: Any = None) -> None:
        if sampler is not None:
            raise TypeError(f"{type(self).__name__}: the dataset argument 'sampler' is now "
                            "'clip_sampler' (the dataloader's 'sampler' picks indices); got "
                            f"sampler={sampler!r}")
        if on_bad_sample not in ("error", "skip"):
            raise ValueError(f"on_bad_sample must be 'error' or 'skip', got {on_bad_sample!r}")
        if fps_mismatch not in FPS_MISMATCH:
            raise ValueError(f"fps_mismatch must be one of {FPS_MISMATCH}, got {fps_mismatch!r}")
        if getattr(self, "split", None) == "val" and not val_performances and self._carves_val:
            raise ValueError(f"{type(self).__name__}: split='val' needs val_performances "
                             "(a count or fraction of the training performances)")
        self.val_performances = val_performances or None
        self.split_seed = int(split_seed)
        if folds is not None and not (isinstance(fold, int) and 0 <= fold < int(folds)):
            raise ValueError(f"fold must be in 0..{int(folds) - 1} for folds={folds}, got {fold!r}")
        self.folds, self.fold = (None if folds is None else int(folds)), int(fold)
        self.train_fraction = (None if train_fraction is None else check_fraction(
            train_fraction, f"{type(self).__name__}: train_fraction"))
        self.train_fraction_seed = (self.split_seed if train_fraction_seed is None
                                    else int(train_fraction_seed))
        self.fps_mismatch = fps_mismatch
        bad_lib.check_max_bad_samples(max_bad_samples)
        self.max_bad_samples = max_bad_samples
        self.bad_sample_report: Optional[str] = None
        self.bad_sample_split = "train" if not test_mode else "test"
        # failures seen in this process while no report file is set
        self._bad_records: List[Dict] = []
        self.worker_epoch_seeds: Optional[WorkerEpochSeeds] = None
        self.clip_sampler = build_clip_sampler(clip_sampler, self.default_clip_sampler())
        if test_mode:  # clip positions are jittered in training only
            self.clip_sampler = without_jitter(self.clip_sampler)
        self.modalities = tuple(modalities)
        self.cache_dir = (cache_lib.default_cache_dir() if cache_dir == "auto"
                          else os.fspath(cache_dir) if cache_dir else None)
        self.fill_cache = bool(fill_cache)
        self.on_bad_sample = on_bad_sample
        self.check_media = bool(check_media)
        self.performances: List[Dict] = []
        # load_data_list copies each record before filling in defaults
        self.recordings = None if recordings is None else list(recordings)
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=dict(), pipeline=build_pipeline(pipeline),
                         test_mode=test_mode, lazy_init=lazy_init,
                         serialize_data=serialize_data, max_refetch=max_refetch)

    # -- what an adapter provides ---------------------------------------------------
    def default_clip_sampler(self) -> ClipSampler:
        """The sampler used when the config names none."""
        from pisa.data.core.clip_samplers import UniformSampler

        return UniformSampler(num_clips=10, clip_len=16)

    def load_performances(self) -> List[Dict]:
        """One record per performance (module docstring)."""
        raise NotImplementedError

    # -- the shared part ------------------------------------------------------------
    def _pipeline_settings(self) -> Tuple[Optional[Tuple[int, int]], Optional[int]]:
        size = sample_rate = None
        for t in self.pipeline.transforms:
            if isinstance(t, CropResize):
                size = t.size
            if isinstance(t, LoadAudio):
                # None means "no audio" to the cache: the file's own rate is NATIVE_RATE
                sample_rate = cache_lib.NATIVE_RATE if t.sample_rate is None else t.sample_rate
        return size, sample_rate

    def frame_resize(self) -> Optional[Tuple[int, int]]:
        """The pipeline's ``CropResize.resize`` (resize, then centre crop), or None."""
        return next((t.resize for t in self.pipeline.transforms if isinstance(t, CropResize)), None)

    def cache_settings(self) -> Tuple[Tuple[int, int], Optional[int]]:
        """``(size, sample_rate)`` the prepared cache stores: from the pipeline's
        ``CropResize`` and ``LoadAudio`` (sample_rate None without audio,
        ``cache.NATIVE_RATE`` for the file's own rate)."""
        size, sample_rate = self._pipeline_settings()
        if size is None:
            raise ValueError(f"{type(self).__name__}: a prepared cache needs a CropResize "
                             "transform in the pipeline (it fixes the stored frame size)")
        return size, sample_rate

    def _bad(self, err: Exception, perf: Optional[Dict] = None) -> None:
        """A performance failed while the dataset was built: raise, or with ``'skip'``
        warn and keep a ``'check'`` record for the report."""
        if self.on_bad_sample == "skip":
            warnings.warn(f"skipped: {err}", BadSampleWarning, stacklevel=3)
            perf = perf or {}
            self._bad_records.append(dict(
                split=self.bad_sample_split, stage="check", perf_id=perf.get("perf_id"),
                sample_id=None, frames=None, file=_failed_file(perf, err),
                error=bad_lib.one_line(err), pid=os.getpid()))
            return
        raise err

    # -- bad samples while training ------------------------------------------------
    def set_bad_sample_report(self, path: Optional[str], split: Optional[str] = None,
                              write_build_records: bool = True) -> None:
        """Write failures to the JSON-lines report ``path`` from now on (None: keep them
        in this process), tagged with ``split``. The performances dropped while the dataset
        was built go to the file first (``write_build_records``; one rank writes them);
        then the cap is checked."""
        if split is not None:
            self.bad_sample_split = split
            for record in self._bad_records:
                record["split"] = split
        self.bad_sample_report = os.fspath(path) if path else None
        if self.bad_sample_report is None:
            return
        pending, self._bad_records = self._bad_records, []
        if write_build_records:
            for record in pending:
                append_json_line(self.bad_sample_report, record)
        if pending:
            self._check_bad_sample_cap()

    def set_worker_epoch_seeds(self, seeds: Optional["WorkerEpochSeeds"]) -> None:
        """Reseed DataLoader workers each epoch from ``seeds`` (None: leave them as
        seeded at start); set before the workers start, so they inherit it."""
        self.worker_epoch_seeds = seeds

    def bad_sample_records(self) -> List[Dict]:
        """Failures recorded so far for this dataset's split: from the report file (every
        worker and rank) when one is set, else those seen in this process."""
        if self.bad_sample_report:
            return bad_lib.read_records(self.bad_sample_report, self.bad_sample_split)
        return list(self._bad_records)

    def _check_bad_sample_cap(self) -> None:
        limit = bad_lib.bad_sample_limit(self.max_bad_samples, len(self))
        if limit is None:
            return
        summary = bad_lib.summarize_bad_samples(self.bad_sample_records())
        if len(summary) > limit:
            raise bad_lib.TooManyBadSamplesError(
                f"{len(summary)} bad samples in the {self.bad_sample_split} data exceed "
                f"max_bad_samples={self.max_bad_samples!r} ({limit} of {len(self)} samples); "
                f"stopping. Bad samples:\n{bad_lib.format_bad_samples(summary)}")

    def _report_bad_sample(self, info: Dict, err: Exception) -> str:
        """Record a sample that failed in the pipeline; returns its one-line description."""
        inds = np.asarray(info.get("frame_inds", []), dtype=np.int64) + int(info.get("frame_offset") or 0)
        frames = [int(inds.min()), int(inds.max())] if inds.size else None
        record = dict(split=self.bad_sample_split, stage="read", perf_id=info.get("perf_id"),
                      sample_id=info.get("sample_id"), frames=frames,
                      file=_failed_file(info, err), error=bad_lib.one_line(err), pid=os.getpid())
        if self.bad_sample_report:
            append_json_line(self.bad_sample_report, record)
        else:
            self._bad_records.append(record)
        span = f" frames {frames[0]}-{frames[1]}" if frames else ""
        return f"bad sample {record['sample_id']} ({record['file']}{span}): {record['error']}"

    def _from_cache(self, perf: Dict) -> bool:
        """Point the performance at its cache entry (True), or with ``fill_cache`` at the
        entry it will fill (False); a missing entry otherwise raises naming it."""
        size, sample_rate = self.cache_settings()
        where = f"performance {perf['perf_id']} ({perf['ann_source']})"
        try:
            entry = cache_lib.entry_dir(self.cache_dir, perf, size, sample_rate, self.frame_resize())
        except FileNotFoundError as err:
            raise FileNotFoundError(f"{where}: source not found: {err.filename or err}") from None
        if not entry.is_dir() and self.fill_cache:
            perf["cache_fill"] = str(entry)
            return False
        if not entry.is_dir():
            raise FileNotFoundError(
                f"{where}: no prepared cache entry in {self.cache_dir} for the current source "
                "files and settings; run `pisa prepare CONFIG --cache-dir ...`"
            )
        meta = cache_lib.read_meta(entry)
        perf["num_frames"], perf["fps"], perf["cache_entry"] = meta["num_frames"], meta["fps"], str(entry)
        return True

    def _filled_entry(self, info: Dict) -> Optional[str]:
        """The cache entry of a sample whose performance had none when the dataset was
        built: already written (by this or another process), or written now from the
        sample's record; None while another process writes it (the sample is then read
        from its sources)."""
        entry = info["cache_fill"]
        if not os.path.isdir(entry):
            size, sample_rate = self.cache_settings()
            with cache_lib.entry_lock(entry) as mine:
                if not mine:
                    return None
                cache_lib.prepare_entry(info, self.cache_dir, size, sample_rate,
                                        fps_mismatch=self.fps_mismatch, resize=self.frame_resize())
        return entry

    def _check_media(self, perf: Dict) -> int:
        """Open the sources once; fill ``num_frames``/``fps`` when not annotated. Returns the
        number of source frames available from ``frame_offset``."""
        where = f"performance {perf['perf_id']} ({perf['ann_source']})"
        source = FrameSource(perf.get("video_path") or perf["frame_dir"])
        available = len(source)
        perf["fps"] = resolve_fps(perf, source.fps, where, self.fps_mismatch)
        if perf.get("crop_box") is not None:
            height, width = source.frame_size()
            check_crop_box(perf["crop_box"], width, height, where)
        if "audio" in self.modalities:
            source = perf.get("audio_path") or perf.get("video_path")
            if not source:
                raise ValueError(f"{where}: the audio modality needs an audio file or a video track")
            rate = self._pipeline_settings()[1]
            load_audio(source, None if rate == cache_lib.NATIVE_RATE else rate or 22050)
        return available - int(perf.get("frame_offset", 0))

    def _samples_of(self, perf: Dict) -> List[Dict]:
        where = f"performance {perf['perf_id']} ({perf['ann_source']})"
        # what the annotation said, before the media fill it in: the prepared cache keys
        # on this, so `pisa prepare` and training find the same entry
        perf.setdefault("annotated", {"num_frames": perf.get("num_frames"), "fps": perf.get("fps")})
        available = None
        if self.cache_dir and self._from_cache(perf):
            pass
        elif self.check_media or perf.get("num_frames") is None or not perf.get("fps"):
            available = self._check_media(perf)
        if perf.get("num_frames") is None:
            perf["num_frames"] = available
        samples = perf.pop("samples", None)
        indices = perf.pop("sample_indices", None)
        perf["annotated_samples"] = samples is not None
        too_short = samples is None and perf["num_frames"] < self.clip_sampler.sample_frames
        if not too_short and samples is None:
            samples = self.clip_sampler(int(perf["num_frames"]))
        if too_short or len(samples) == 0:
            raise ValueError(f"{where}: {perf['num_frames']} frames is shorter than one sample "
                             f"({self.clip_sampler.sample_frames} frames for {self.clip_sampler!r})")
        samples = np.asarray(samples, dtype=np.int64)
        needed = int(samples.max()) + 1
        if available is not None and needed > available:
            source = perf.get("video_path") or perf.get("frame_dir")
            raise ValueError(f"{where}: {source} has {available} frames after frame "
                             f"{perf.get('frame_offset', 0)}, the samples need {needed}")
        indices = range(len(samples)) if indices is None else indices
        return [dict(perf, frame_inds=inds, sample_index=int(i), sample_id=f"{perf['perf_id']}/{i}")
                for i, inds in zip(indices, samples)]

    def load_data_list(self) -> List[Dict]:
        """Performances -> checked flat sample records (mmengine serialises them)."""
        data_list: List[Dict] = []
        self.performances = []
        given = self.recordings
        for perf in self._split_performances() if given is None else [dict(r) for r in given]:
            perf.setdefault("video_path", None)
            perf.setdefault("frame_dir", None)
            perf.setdefault("audio_path", None)
            perf.setdefault("frame_offset", 0)
            perf.setdefault("crop_box", None)
            perf.setdefault("cache_entry", None)
            perf.setdefault("cache_fill", None)
            try:
                records = self._samples_of(perf)
            except (ValueError, FileNotFoundError) as err:
                self._bad(err, perf)
                continue
            self.performances.append(dict(perf))
            data_list.extend(records)
        if not data_list:
            raise ValueError(f"{type(self).__name__}: no samples (every performance was empty or skipped)")
        return data_list

    def _split_performances(self) -> List[Dict]:
        """The adapter's performances of ``self.split``, or with ``val_performances`` the
        carved side of its training performances; the training split cut to
        ``train_fraction`` last."""
        split = getattr(self, "split", None)
        carve = bool(self.val_performances) and split in ("train", "val")
        if split not in ("train", "val", "test") or not (self.folds or carve) or (
                split == "val" and not carve):
            return self._training_share(self.load_performances())
        self.split = "train"
        try:
            train = self.load_performances()
        finally:
            self.split = split
        if self.folds:
            fold_of = assign_folds(train, self.folds, self.split_seed)
            if split == "test":
                return [p for p, f in zip(train, fold_of) if f == self.fold]
            train = [p for p, f in zip(train, fold_of) if f != self.fold]
        if not self.val_performances:
            return self._training_share(train)
        kept, val = carve_validation(train, self.val_performances, self.split_seed)
        return val if split == "val" else self._training_share(kept)

    def _training_share(self, perfs: List[Dict]) -> List[Dict]:
        """``perfs`` cut to ``train_fraction`` when this is the training split."""
        if self.train_fraction is None or getattr(self, "split", None) != "train":
            return perfs
        return nested_fraction(perfs, self.train_fraction, self.train_fraction_seed)

    def level_counts(self) -> Dict[str, int]:
        """Samples per level (1-based) of this dataset, as the run prints them."""
        # the stored records: get_data_info would draw random clips
        return level_counts([BaseDataset.get_data_info(self, i) for i in range(len(self))])

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        if self.clip_sampler.random and not info["annotated_samples"]:  # drawn again on every read
            drawn = self.clip_sampler(int(info["num_frames"]), rng=draw_rng())
            info["frame_inds"] = drawn[info["sample_index"]]
        return info

    def prepare_data(self, idx: int) -> Any:
        """The packed sample ``idx``; a sample whose media fail is reported and raises
        :class:`~pisa.data.core.bad_samples.BadSampleError`, or with ``on_bad_sample='skip'``
        (training only) returns None so mmengine reads another sample, until more than
        ``max_bad_samples`` failed."""
        if self.worker_epoch_seeds is not None:
            self.worker_epoch_seeds.reseed_worker()  # before this epoch's first draw
        info = self.get_data_info(idx)
        try:
            if info.get("cache_fill") and not info.get("cache_entry"):
                info["cache_entry"] = self._filled_entry(info)
            return self.pipeline(info)
        except (ValueError, OSError) as err:
            if isinstance(err, bad_lib.BadSampleError):
                raise
            message = self._report_bad_sample(info, err)
        if self.on_bad_sample == "skip" and not self.test_mode:
            warnings.warn(f"skipped: {message}", BadSampleWarning, stacklevel=2)
            self._check_bad_sample_cap()
            return None  # mmengine's BaseDataset then reads another sample
        why = " (a test_mode dataset never skips)" if self.on_bad_sample == "skip" else ""
        raise bad_lib.BadSampleError(message + why) from None


def _failed_file(info: Dict, err: Exception) -> Optional[str]:
    """The sample's source the error names (video, audio, frame folder or cache entry),
    else its video or frame folder."""
    text = str(err)
    sources = [info.get(k) for k in ("video_path", "audio_path", "frame_dir", "cache_entry")]
    for source in sources:
        if source and str(source) in text:
            return str(source)
    return next((str(s) for s in sources if s), None)


def draw_rng() -> np.random.Generator:
    """A generator for one random draw of a sample, reproducible under the run's seed:
    seeded from numpy's global generator. That one is seeded by the runner and each epoch
    by ``EpochSeedHook`` in the main process; in a DataLoader worker, each epoch from
    ``(seed, epoch, rank, worker id)`` (:class:`WorkerEpochSeeds`), or, in a worker
    without them, once by mmengine's ``worker_init_fn``: then torch's worker seed is
    mixed in, so that epochs still draw differently."""
    import torch.utils.data

    entropy = [int(np.random.randint(0, 2**31 - 1))]
    worker = torch.utils.data.get_worker_info()
    # torch's worker seed comes from the main process's generator when the iterator is
    # made, which a resume makes at another epoch: left out when seeded per epoch
    if worker is not None and not _worker_seeded_per_epoch:
        entropy.append(int(worker.seed) % 2**63)
    return np.random.default_rng(entropy)


#: True in a DataLoader worker once :class:`WorkerEpochSeeds` has seeded it
_worker_seeded_per_epoch = False


def worker_epoch_seed(seed: int, epoch: int, rank: int, worker_id: int) -> int:
    """The seed of DataLoader worker ``worker_id`` of rank ``rank`` in ``epoch``: the first
    32-bit word of ``numpy.random.SeedSequence([seed mod 2**64, epoch, rank, worker_id])``
    (a hash of the four, so no two tuples are seeded alike by construction)."""
    entropy = [int(seed) % 2**64, int(epoch), int(rank), int(worker_id)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


class WorkerEpochSeeds:
    """Seeds DataLoader workers per epoch. The main process publishes the epoch with
    :meth:`set_epoch` before the epoch's batches are requested; a worker, at the first
    sample it prepares in a new epoch (:meth:`reseed_worker`), seeds ``random``, numpy's
    global generator and torch with :func:`worker_epoch_seed` ``(seed, epoch, rank, worker
    id)``. The epoch lives in shared memory made before the workers start, so forked (or
    spawned) workers see every later value, persistent workers included; with persistent
    workers torch sends an epoch's first indices only when the loop calls ``iter()``,
    after ``before_train_epoch``. Does nothing in the main process (``num_workers=0``)."""

    def __init__(self, seed: int, rank: int = 0) -> None:
        self.seed, self.rank = int(seed), int(rank)
        self._epoch = multiprocessing.RawValue("q", -1)
        self._seeded_epoch: Optional[int] = None  # per process: each worker has its copy

    @property
    def epoch(self) -> int:
        """The epoch last published (-1 before the first)."""
        return int(self._epoch.value)

    def set_epoch(self, epoch: int) -> None:
        """Publish ``epoch`` to the workers (main process, before the epoch's batches)."""
        self._epoch.value = int(epoch)

    def reseed_worker(self) -> None:
        """In a DataLoader worker, seed its generators for the published epoch unless done."""
        global _worker_seeded_per_epoch
        import torch
        import torch.utils.data

        worker = torch.utils.data.get_worker_info()
        epoch = self.epoch
        if worker is None or epoch < 0 or epoch == self._seeded_epoch:
            return
        self._seeded_epoch = epoch
        seed = worker_epoch_seed(self.seed, epoch, self.rank, worker.id)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        _worker_seeded_per_epoch = True
