"""The public plugin API: the one module a pisa plugin imports (as llm's plugins import
``llm``). Everything a plugin needs from pisa is here; the modules underneath may move
between releases, this surface stays. An import-linter contract (``setup.cfg``) keeps the
plugin distributions in ``plugins/`` to it.

A plugin is a module named by a setuptools entry point in group ``pisa``::

    [options.entry_points]
    pisa =
        my_method = my_package

that implements the one hook (:mod:`pisa.hookspecs`)::

    from pisa import plugin_api

    class MyAggregator(torch.nn.Module):
        example = dict(args=dict(), input_shape=(2, 3, 16))  # the generated tests use it
        ...

    @plugin_api.hookimpl
    def pisa_register_components(register):
        register("aggregator", MyAggregator)

Reference:

- :data:`hookimpl`: marks the plugin's ``pisa_register_components(register)``;
  ``register(kind, obj, name=None, override=False)`` adds a component of one of
  :data:`COMPONENT_KINDS` (each kind's contract: :mod:`pisa.registry`'s docstring).
- Models: :class:`AQAModel` (backbones, aggregators, fusion and heads per branch; a
  subclass overrides ``_targets`` or ``predict``), :class:`AQADataPreprocessor` (moves a
  batch to the device; ``normalize_video``, ``normalize_audio`` for a subclass that
  normalises more inputs), :data:`ConfigType` (a component's config dict, or the built
  component).
- Samples: :func:`sample_column` (one ``data_samples`` key as a list, one value per
  sample), :func:`sample_truths` (the ground-truth keys every predict-output dict carries:
  ``gt_label``, ``gt_score``, ``sample_id``, ``group``).
- Components: :func:`build_component` (build one of a kind from a config dict),
  :func:`component_class` (the class a name registers), :func:`component_names`.
- Tests: :func:`check_component` (``check_component("transform", MyTransform)``: builds
  a component from its ``example`` and checks its kind's contract, as pisa's generated
  tests do; for a plugin's own test suite).
- Baselines: :class:`LinearFeatureBaseline` (a feature vector per performance record,
  then scikit-learn's imputer, scaler and a logistic, ordinal or ridge model; a subclass
  defines ``feature_names`` and ``_compute_features(record)``).
- Runs: :func:`datasets_with` (the datasets inside mmengine's dataset wrappers that have
  a method, for a hook that reads the training data).
- Weights: :func:`load_backbone_weights` (a local state dict or checkpoint into a
  module, checked and logged), :data:`StateDict`.
- Files: :func:`read_audio` (mono float32 samples of an audio file or a video's track,
  at a rate), :func:`atomic_output` (a file that appears complete or not at all),
  :func:`default_cache_dir` (where ``cache_dir='auto'`` keeps prepared data),
  :func:`entry_lock` (one process writes a stored entry, the others wait or read the
  sources).
- Decoders: :func:`register_backend` (a video backend: a :class:`VideoReader` subclass;
  an audio backend: ``read(path, rate)``; selected by name in a config's
  ``video_backend`` / ``audio_backend`` or ``PISA_VIDEO_BACKEND``; see
  :mod:`pisa.io.media.backends`), :func:`import_probe` (why it cannot run here).
- Notes: :func:`note_array_problem` (what is wrong with a transcriber's note array,
  the ``transcriber`` kind's format; None when nothing).
- Types: :class:`AQABaseDataset` (the base of dataset adapters: one performance record
  per recording), :class:`ExemplarDataset` (pair samples: a query with exemplars of the
  training split), :class:`ClipSampler` (frames -> ``(S, K, T)`` frame indices),
  :class:`DecisionRule` (probabilities and regression -> levels),
  :class:`RecordingPrediction` and :class:`SegmentPrediction` (an assessed recording).
"""
from __future__ import annotations

from typing import Any, List, Mapping, Tuple

from pisa.component_checks import check_component, note_array_problem
from pisa.data.core.cache import default_cache_dir, entry_lock
from pisa.data.core.base_dataset import AQABaseDataset
from pisa.data.wrappers.pairs import ExemplarDataset
from pisa.data.core.clip_samplers import ClipSampler
from pisa.engine.hooks.run_hooks import datasets_with
from pisa.evaluation.baselines.linear_features import LinearFeatureBaseline
from pisa.evaluation.assessment import RecordingPrediction, SegmentPrediction
from pisa.hookspecs import hookimpl
from pisa.io.atomic import atomic_output
from pisa.io.media import VideoReader, read_audio, register_backend
from pisa.io.media.backends import import_probe
from pisa.models.aqa_model import AQAModel, ConfigType
from pisa.models.batch import sample_column, sample_truths
from pisa.models.data_preprocessor import AQADataPreprocessor
from pisa.models.decisions import DecisionRule
from pisa.models.weights import StateDict, load_backbone_weights
from pisa.registry import KINDS

#: the component kinds a plugin registers and builds (contracts: :mod:`pisa.registry`)
COMPONENT_KINDS: Tuple[str, ...] = tuple(KINDS)


def _registry(kind: str) -> Any:
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; kinds: {', '.join(KINDS)}")
    return KINDS[kind]


def build_component(kind: str, cfg: Any, **default_args: Any) -> Any:
    """Build a component of ``kind`` from its config dict (``type`` a registered name or
    a class), with ``default_args`` (e.g. ``in_features=D`` for an aggregator) filling
    what the config does not give; an object that is not a mapping is taken as built and
    returned as is. Errors: ``ValueError`` for an unknown kind, ``KeyError`` naming the
    registered names for an unknown ``type``, ``TypeError`` naming the accepted
    arguments for a wrong one."""
    registry = _registry(kind)
    if not isinstance(cfg, Mapping):
        return cfg
    return registry.build(dict(cfg), default_args=default_args or None)


def component_class(kind: str, name: str) -> Any:
    """The class (or function) registered as ``name`` of ``kind``; ``KeyError`` naming
    the registered names when there is none."""
    return _registry(kind).get(name)


def component_names(kind: str) -> List[str]:
    """The names registered for ``kind``, sorted (plugins loaded first)."""
    registry = _registry(kind)
    registry.import_from_location()
    return sorted(registry.module_dict)


__all__: List[str] = [
    "hookimpl", "COMPONENT_KINDS",
    "AQAModel", "AQADataPreprocessor", "ConfigType",
    "sample_column", "sample_truths",
    "build_component", "component_class", "component_names", "check_component",
    "datasets_with", "LinearFeatureBaseline",
    "read_audio", "register_backend", "import_probe", "VideoReader", "atomic_output", "default_cache_dir", "entry_lock", "note_array_problem",
    "load_backbone_weights", "StateDict",
    "AQABaseDataset", "ExemplarDataset", "ClipSampler", "DecisionRule",
    "RecordingPrediction", "SegmentPrediction",
]
