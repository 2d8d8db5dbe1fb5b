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

The base composes small parts, each in its own module: the split (:class:`~pisa.data.core.
split_spec.SplitSpec`: split, validation carve, folds, training fraction), the media check
(:mod:`pisa.data.core.media_check`), the cache lookup and fill
(:class:`~pisa.data.core.cache_lookup.CacheLookup`), the bad-sample log
(:class:`~pisa.data.core.bad_sample_log.BadSampleLog`) and the workers' seeding
(:class:`~pisa.data.core.seeding.WorkerEpochSeeds`, set by ``EpochSeedHook``).
"""
from __future__ import annotations

import os
import warnings
from abc import abstractmethod
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.dataset import BaseDataset

from pisa.data.core import bad_samples as bad_lib
from pisa.data.core import cache as cache_lib
from pisa.data.core.bad_sample_log import BadSampleLog
from pisa.data.core.bad_samples import BadSampleWarning
from pisa.data.core.cache_lookup import CacheLookup, pipeline_settings
from pisa.data.core.clip_samplers import ClipSampler, without_jitter
from pisa.data.core.dataset_interface import AQADatasetInterface
from pisa.data.core.media_check import check_media
from pisa.data.core.records import FPS_MISMATCH
from pisa.data.core.seeding import WorkerEpochSeeds, draw_rng
from pisa.data.core.split_spec import SplitSpec
from pisa.data.core.splits import level_counts

#: the pipeline dataset ``example``s use: decode, crop to 16x16, pack the video
EXAMPLE_PIPELINE = (dict(type="DecodeFrames"), dict(type="CropResize", size=(16, 16)),
                    dict(type="PackAQAInputs", modalities=("video",)))


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
    """Build config dicts with pisa's transform registry (so no default scope is needed).
    A ``DecodeFrames`` directly followed by a ``CropResize`` crops and resizes each frame
    as it decodes it (same frames, without holding them at source resolution)."""
    from pisa.data.transforms.clip_transforms import CropResize, DecodeFrames
    from pisa.registry import TRANSFORMS

    steps = [TRANSFORMS.build(dict(t)) if isinstance(t, dict) else t for t in pipeline]
    for first, second in zip(steps, steps[1:]):
        if type(first) is DecodeFrames and type(second) is CropResize:
            first.crop_resize_while_decoding(second)
    return steps


class AQABaseDataset(BaseDataset, AQADatasetInterface):
    """Base of the AQA datasets (see the module docstring for the performance record).

    Args:
        split: the adapter's split to read (``'train'``, ``'val'``, ``'test'``, or one the
            adapter names); an adapter passes its own ``split`` argument on.
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
                 recordings: Optional[Sequence[dict]] = None, split: Optional[str] = "train",
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
        if fps_mismatch not in FPS_MISMATCH:
            raise ValueError(f"fps_mismatch must be one of {FPS_MISMATCH}, got {fps_mismatch!r}")
        self.split = split
        self.split_spec = SplitSpec(split, val_performances, split_seed, folds, fold,
                                    train_fraction, train_fraction_seed,
                                    carves_val=self._carves_val, owner=type(self).__name__)
        self.fps_mismatch = fps_mismatch
        self.bad_samples = BadSampleLog("train" if not test_mode else "test", on_bad_sample,
                                        max_bad_samples)
        self.worker_epoch_seeds: Optional[WorkerEpochSeeds] = None
        self.clip_sampler = build_clip_sampler(clip_sampler, self.default_clip_sampler())
        if test_mode:  # clip positions are jittered in training only
            self.clip_sampler = without_jitter(self.clip_sampler)
        self.modalities = tuple(modalities)
        self.cache_dir = (cache_lib.default_cache_dir() if cache_dir == "auto"
                          else os.fspath(cache_dir) if cache_dir else None)
        self.fill_cache = bool(fill_cache)
        self.check_media = bool(check_media)
        self.performances: List[Dict] = []
        # load_data_list copies each record before filling in defaults
        self.recordings = None if recordings is None else list(recordings)
        self._cache: Optional[CacheLookup] = None
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=dict(), pipeline=build_pipeline(pipeline),
                         test_mode=test_mode, lazy_init=lazy_init,
                         serialize_data=serialize_data, max_refetch=max_refetch)

    # the split's settings, as adapters and wrappers read them
    val_performances = property(lambda self: self.split_spec.val_performances)
    split_seed = property(lambda self: self.split_spec.split_seed)
    folds = property(lambda self: self.split_spec.folds)
    fold = property(lambda self: self.split_spec.fold)
    train_fraction = property(lambda self: self.split_spec.train_fraction)
    train_fraction_seed = property(lambda self: self.split_spec.train_fraction_seed)
    on_bad_sample = property(lambda self: self.bad_samples.on_bad_sample)
    max_bad_samples = property(lambda self: self.bad_samples.max_bad_samples)
    bad_sample_report = property(lambda self: self.bad_samples.report)
    bad_sample_split = property(lambda self: self.bad_samples.split)

    # -- what an adapter provides ---------------------------------------------------
    def default_clip_sampler(self) -> ClipSampler:
        """The sampler used when the config names none."""
        from pisa.data.core.clip_samplers import UniformSampler

        return UniformSampler(num_clips=10, clip_len=16)

    @abstractmethod
    def load_performances(self) -> List[Dict]:
        """One record per performance of ``self.split`` (module docstring)."""

    # -- the interface the engine and the commands use (AQADatasetInterface) ---------
    @property
    def media_dataset(self) -> "AQABaseDataset":
        return self

    def frame_resize(self) -> Optional[Tuple[int, int]]:
        """The pipeline's ``CropResize.resize`` (resize, then centre crop), or None."""
        return pipeline_settings(self.pipeline.transforms)[2]

    def cache_settings(self) -> Tuple[Tuple[int, int], Optional[int]]:
        """``(size, sample_rate)`` the prepared cache stores: from the pipeline's
        ``CropResize`` and ``LoadAudio`` (sample_rate None without audio,
        ``cache.NATIVE_RATE`` for the file's own rate)."""
        size, sample_rate, _ = pipeline_settings(self.pipeline.transforms)
        if size is None:
            raise ValueError(f"{type(self).__name__}: a prepared cache needs a CropResize "
                             "transform in the pipeline (it fixes the stored frame size)")
        return size, sample_rate

    def set_bad_sample_report(self, path: Optional[str], split: Optional[str] = None,
                              write_build_records: bool = True) -> None:
        """Write failures to the JSON-lines report ``path`` from now on (None: keep them
        in this process), tagged with ``split``
        (:meth:`~pisa.data.core.bad_sample_log.BadSampleLog.set_report`)."""
        self.bad_samples.set_report(path, split, write_build_records, self.__len__)

    def bad_sample_records(self) -> List[Dict]:
        """Failures recorded so far for this dataset's split (every worker and rank when
        a report file is set)."""
        return self.bad_samples.records()

    def set_worker_epoch_seeds(self, seeds: Optional[WorkerEpochSeeds]) -> None:
        """Reseed DataLoader workers each epoch from ``seeds`` (None: leave them as
        seeded at start); set before the workers start, so they inherit it."""
        self.worker_epoch_seeds = seeds

    def level_counts(self) -> Dict[str, int]:
        """Samples per level (1-based) of this dataset, as the run prints them."""
        # the stored records: get_data_info would draw random clips
        return level_counts([BaseDataset.get_data_info(self, i) for i in range(len(self))])

    # -- performances -> samples ------------------------------------------------------
    def _bad(self, err: Exception, perf: Optional[Dict] = None) -> None:
        """A performance failed while the dataset was built: raise, or with ``'skip'``
        warn and keep it for the report."""
        self.bad_samples.build_failure(err, perf)

    def _cache_lookup(self) -> CacheLookup:
        if self._cache is None:
            size, sample_rate = self.cache_settings()
            self._cache = CacheLookup(self.cache_dir, size, sample_rate, self.frame_resize(),
                                      self.fill_cache, self.fps_mismatch)
        return self._cache

    def _check_media(self, perf: Dict) -> int:
        rate = pipeline_settings(self.pipeline.transforms)[1]
        return check_media(perf, self.modalities,
                           None if rate == cache_lib.NATIVE_RATE else rate or 22050,
                           self.fps_mismatch)

    def _samples_of(self, perf: Dict) -> List[Dict]:
        where = f"performance {perf['perf_id']} ({perf['ann_source']})"
        # what the annotation said, before the media fill it in: the prepared cache keys
        # on this, so `pisa prepare` and training find the same entry
        perf.setdefault("annotated", {"num_frames": perf.get("num_frames"), "fps": perf.get("fps")})
        available = None
        if self.cache_dir and self._cache_lookup().locate(perf):
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
        """The adapter's performances of ``self.split`` as :attr:`split_spec` selects them."""
        return self.split_spec.select(self._load_split)

    def _load_split(self, split: Optional[str]) -> List[Dict]:
        """The adapter's own performances of ``split`` (:meth:`load_performances`)."""
        requested = self.split
        self.split = split
        try:
            return self.load_performances()
        finally:
            self.split = requested

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
                info["cache_entry"] = self._cache_lookup().filled_entry(info)
            return self.pipeline(info)
        except (ValueError, OSError) as err:
            if isinstance(err, bad_lib.BadSampleError):
                raise
            message = self.bad_samples.read_failure(info, err)
        if self.on_bad_sample == "skip" and not self.test_mode:
            warnings.warn(f"skipped: {message}", BadSampleWarning, stacklevel=2)
            self.bad_samples.check_cap(len(self))
            return None  # mmengine's BaseDataset then reads another sample
        why = " (a test_mode dataset never skips)" if self.on_bad_sample == "skip" else ""
        raise bad_lib.BadSampleError(message + why) from None
