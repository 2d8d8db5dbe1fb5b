"""The component contract that configs and plugins speak to (installed as ``pisa.registry``).

mmengine resolves ``default_scope='pisa'`` by importing this module, so every registry
here is a child of mmengine's root registry of the same role: mmengine's Runner builds
the framework's parts (and any plugin's) from a config by name.

Component kinds and their contracts (stated once, here; ``B`` batch, ``K`` clips per
sample, ``T`` frames per clip, ``D`` feature size):

==============  ===========================  ===============================================
kind            registry                     contract
==============  ===========================  ===============================================
backbone        ``BACKBONES``                clips ``(N, C, T, H, W)`` (video) or
                                             ``(N, C, F, W)`` (an image per clip: a
                                             mel image, C=1, or a piano roll) ->
                                             ``(N, D)``; exposes ``out_features = D``.
aggregator      ``AGGREGATORS``              clip features ``(B, K, D)`` -> ``(B, D)``;
                                             built with ``in_features=D``, exposes
                                             ``out_features``.
fusion          ``FUSIONS``                  list of per-modality features ``[(B, D_i)]``
                                             -> ``(B, D)``; built with
                                             ``in_features=[D_i]``, exposes
                                             ``out_features``.
head            ``HEADS``                    features ``(B, D)`` -> ``{'cls': (B, C),
                                             'reg': (B,)}`` (more batch-first keys may
                                             follow, e.g. ``'ordinal'``, for the losses
                                             that read them); built with
                                             ``in_features=D``.
sequence_head   ``SEQUENCE_HEADS``           clip features ``(B, K, D)`` -> the head
                                             output ``{'cls': (B, C), 'reg': (B,)}``
                                             (a head over the clip sequence, in place
                                             of aggregator + head); built with
                                             ``in_features=D``.
loss            ``LOSSES``                   ``(head output dict, targets dict)`` ->
                                             scalar tensor; ``targets`` holds
                                             ``label`` (B,) int64 and ``score`` (B,) float.
model           ``MODELS``                   an ``mmengine.model.BaseModel``.
dataset         ``DATASETS``                 a ``torch.utils.data.Dataset`` of packed
                                             samples ``{'inputs': {...}, 'data_samples':
                                             {...}}``.
transform       ``TRANSFORMS``               ``dict -> dict`` (documents keys read/added).
clip_sampler    ``CLIP_SAMPLERS``            ``sampler(num_frames, rng=None) -> (S, K, T)``
                                             int64 frame indices in ``0..num_frames-1``;
                                             the same on every call unless ``random``.
metric          ``METRICS``                  an ``mmengine.evaluator.BaseMetric``.
hook            ``HOOKS``                    an ``mmengine.hooks.Hook``.
optim_wrapper   ``OPTIM_WRAPPERS``           an ``mmengine.optim.OptimWrapper``.
loop            ``LOOPS``                    an ``mmengine.runner.BaseLoop``.
param_scheduler ``PARAM_SCHEDULERS``         an mmengine parameter scheduler.
decision_rule   ``DECISION_RULES``           ordinal decision: ``(probs (N, C), reg (N,))``
                                             numpy -> ``(N,)`` int64 levels 0..C-1.
baseline        ``BASELINES``                a model without a network: ``fit(records)``
                                             on training performance records, then
                                             ``predict(records)`` -> predict-output dicts
                                             (one per record, the model's format).
transcriber     ``TRANSCRIBERS``             audio -> note events: ``transcribe(audios)``
                                             with ``audios`` a list of mono float32
                                             ``(S,)`` arrays at the transcriber's
                                             ``sample_rate`` -> one float64 ``(N, 4)``
                                             array per recording, rows ``(onset s,
                                             offset s, MIDI pitch, velocity 0..1)``
                                             sorted by onset, ``offset > onset``;
                                             ``fingerprint()`` -> a string that changes
                                             with its weights and settings (the key of
                                             stored notes).
==============  ===========================  ===============================================

Registering. The framework's own components are marked where they are defined, with
:func:`component` (``@component('backbone')`` above the class); the built-in plugin
(:mod:`pisa.builtin_components`) imports the framework's modules and registers what they
mark through the same hook as any plugin. Plugins never import these registries: they
receive a ``register(kind, obj, name=None, override=False)`` callback through the
``pisa_register_components`` hook (:mod:`pisa.hookspecs`), and import pisa only through
its public plugin API (:mod:`pisa.plugin_api`: building and looking up components by
kind, without these objects). Looking anything up here loads the plugins first, once.

Examples. Every backbone, aggregator, fusion, head, sequence head, loss, transform, clip
sampler, metric, decision rule and baseline declares a small example as a class
attribute ``example``: constructor arguments that make it tiny, and the input it takes.
:func:`pisa.component_checks.check_component` builds a component from its example and
checks its kind's contract above (forward and backward for the model kinds); the
framework's generated tests (``tests/test_component_examples.py``) run it on every
registered component of these kinds, a plugin's included, and a plugin's own tests can
call it on a component before registering it::

    example = dict(args=dict(widths=(4, 8), feature_dim=16), input_shape=(2, 3, 16, 32, 32))

Callables in an example (``input``, ``predictions``, ``records``) are called once per
check, so each check gets fresh data made in code (media files, where a component reads
them, in a temporary folder).

==============  ==================================================================
kind            ``example`` keys
==============  ==================================================================
backbone        ``args``, ``input_shape`` ``(N, C, T, H, W)`` or ``(N, C, F, W)``
aggregator      ``args`` (``in_features`` is added), ``input_shape`` ``(B, K, D)``
fusion          ``args`` (``in_features`` is added), ``input_shapes`` ``[(B, D_i)]``
head            ``args`` (``in_features`` is added), ``input_shape`` ``(B, D)``
sequence_head   ``args`` (``in_features`` is added), ``input_shape`` ``(B, K, D)``
loss            ``args``; the check feeds a head output with 5 classes
transform       ``args``, ``input`` (``() -> dict``: a fresh results dict holding
                the keys the transform reads), ``adds`` (the keys its output dict
                must hold)
clip_sampler    ``args``, ``num_frames``: ``sampler(num_frames)`` gives ``(S, K, T)``
                int64 in ``0..num_frames-1``, ``S >= 1``; the same every call
                unless the sampler is ``random``, and with a seeded ``rng`` the
                same either way
metric          ``args``, ``predictions`` (``() -> [predict-output dict]``),
                ``dataset_meta``; optional ``keys`` (what ``compute_metrics`` must
                return as finite numbers) and ``perfect`` (``dict(predictions=
                () -> [...], values={key: value})``: the values perfect
                predictions give)
decision_rule   ``args``, ``num_classes``: random ``probs (N, C)`` and ``reg (N,)``
                give ``(N,)`` int64 levels in ``0..C-1``; a one-hot ``probs`` with
                ``reg`` at the same level gives that level
baseline        ``args``, ``records`` (``() -> (train_records, test_records)``):
                ``fit`` then ``predict`` gives one predict-output dict per test
                record (DEVELOPERS.md, "The sample contract")
dataset         ``args``, ``make_data``: a callable ``(root: str) -> dict`` that writes
                tiny media and annotations in the dataset's released layout into the
                empty folder ``root`` and returns constructor arguments to add
                (``data_root``, ``ann_file``, ...); ``check_component``
                builds each dataset so and checks its items against the sample contract
transcriber     ``args``, ``audio`` (``() -> [(S,) float32]`` at the transcriber's
                rate): ``transcribe`` gives one valid note array per recording, the
                same on a second call; ``fingerprint()`` is a non-empty string
==============  ==================================================================
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Optional, Tuple

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry, build_from_cfg, build_model_from_cfg

SCOPE = "pisa"


#: run before a registry's first lookup (each is itself run-once): the plugin loader,
#: which :mod:`pisa` installs with :func:`before_first_lookup` when it is imported
_BEFORE_FIRST_LOOKUP: List[Callable[[], None]] = []


def before_first_lookup(load: Callable[[], None]) -> None:
    """Run ``load`` before any registry's first lookup (``pisa.plugin_loader.load_plugins``:
    the registries depend on no loader, the loader on the registries)."""
    if load not in _BEFORE_FIRST_LOOKUP:
        _BEFORE_FIRST_LOOKUP.append(load)


class ComponentRegistry(Registry):
    """An mmengine registry that loads the plugins before any lookup and, for an
    unknown name, raises an error that lists the names it knows."""

    def import_from_location(self) -> None:
        if not self._imported:
            super().import_from_location()
            for load in _BEFORE_FIRST_LOOKUP:
                load()

    def get(self, key: str) -> Optional[Any]:
        obj = super().get(key)
        scope, name = self.split_scope_key(key) if isinstance(key, str) else (None, key)
        if obj is None and scope in (None, self.scope) and "." not in str(name):
            known = ", ".join(sorted(self.module_dict)) or "(none)"
            raise KeyError(
                f"unknown {self.name} type {key!r}; registered {self.name} types: {known}"
            )
        return obj


class ComponentArgumentError(TypeError):
    """A component was given an argument its constructor does not take."""


def _build_component(cfg: Any, registry: Registry, default_args: Optional[Dict] = None) -> Any:
    """Build like mmengine does, but turn a wrong constructor argument into an error that
    names the component and the arguments it accepts."""
    try:
        return build_model_from_cfg(cfg, registry, default_args)
    except ComponentArgumentError:
        raise  # already names the innermost component
    except TypeError as err:
        obj_type = cfg.get("type") if isinstance(cfg, dict) else None
        obj_cls = registry.get(obj_type) if isinstance(obj_type, str) else obj_type
        if obj_cls is None or "argument" not in str(err):
            raise
        params = [p for p in inspect.signature(obj_cls).parameters if p not in ("self", "args", "kwargs")]
        raise ComponentArgumentError(
            f"{registry.name} {getattr(obj_cls, '__name__', obj_type)!s}: {err}; "
            f"accepted arguments: {', '.join(params)}"
        ) from None


def _child(name: str, parent: Registry, build_func=None) -> ComponentRegistry:
    kwargs = {"build_func": build_func} if build_func is not None else {}
    return ComponentRegistry(name, parent=parent, scope=SCOPE, **kwargs)


# Roles that mmengine's Runner builds directly: children of mmengine's roots.
MODELS = _child("model", MMENGINE_MODELS, _build_component)
DATASETS = _child("dataset", MMENGINE_DATASETS)
TRANSFORMS = _child("transform", MMENGINE_TRANSFORMS)
METRICS = _child("metric", MMENGINE_METRICS)
HOOKS = _child("hook", MMENGINE_HOOKS)
DATA_SAMPLERS = _child("data sampler", MMENGINE_DATA_SAMPLERS)
VISUALIZERS = _child("visualizer", MMENGINE_VISUALIZERS)
OPTIM_WRAPPERS = _child("optim_wrapper", MMENGINE_OPTIM_WRAPPERS)
# The other roles the Runner looks up in the default scope: children so that lookups in
# scope 'pisa' resolve here (and fall back to mmengine's) without a warning.
LOOPS = _child("loop", MMENGINE_LOOPS)
OPTIMIZERS = _child("optimizer", MMENGINE_OPTIMIZERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child("optimizer wrapper constructor", MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child("parameter scheduler", MMENGINE_PARAM_SCHEDULERS)
EVALUATOR = _child("evaluator", MMENGINE_EVALUATOR)
LOG_PROCESSORS = _child("log_processor", MMENGINE_LOG_PROCESSORS)
VISBACKENDS = _child("vis_backend", MMENGINE_VISBACKENDS)
MODEL_WRAPPERS = _child("model_wrapper", MMENGINE_MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child("weight initializer", MMENGINE_WEIGHT_INITIALIZERS)

# Component kinds that models build from their own config sections. They are roots of
# their own (a name means one thing per kind), built with mmengine's model builder so
# that ``init_cfg`` and nested configs work as they do for models.
BACKBONES = ComponentRegistry("backbone", scope=SCOPE, build_func=_build_component)
AGGREGATORS = ComponentRegistry("aggregator", scope=SCOPE, build_func=_build_component)
FUSIONS = ComponentRegistry("fusion", scope=SCOPE, build_func=_build_component)
HEADS = ComponentRegistry("head", scope=SCOPE, build_func=_build_component)
SEQUENCE_HEADS = ComponentRegistry("sequence_head", scope=SCOPE, build_func=_build_component)
LOSSES = ComponentRegistry("loss", scope=SCOPE, build_func=_build_component)
CLIP_SAMPLERS = ComponentRegistry("clip_sampler", scope=SCOPE, build_func=build_from_cfg)
DECISION_RULES = ComponentRegistry("decision_rule", scope=SCOPE, build_func=build_from_cfg)
BASELINES = ComponentRegistry("baseline", scope=SCOPE, build_func=build_from_cfg)
TRANSCRIBERS = ComponentRegistry("transcriber", scope=SCOPE, build_func=build_from_cfg)

#: kinds whose components declare an ``example`` (module docstring) -> its required keys
EXAMPLE_KEYS: Dict[str, Tuple[str, ...]] = {
    "backbone": ("args", "input_shape"),
    "aggregator": ("args", "input_shape"),
    "fusion": ("args", "input_shapes"),
    "head": ("args", "input_shape"),
    "sequence_head": ("args", "input_shape"),
    "loss": ("args",),
    "transform": ("args", "input", "adds"),
    "clip_sampler": ("args", "num_frames"),
    "metric": ("args", "predictions", "dataset_meta"),
    "decision_rule": ("args", "num_classes"),
    "baseline": ("args", "records"),
    "dataset": ("args", "make_data"),
    "transcriber": ("args", "audio"),
}

#: (kind, name, object) marked by :func:`component`, in definition order
_MARKED: List[Tuple[str, str, Any]] = []


def component(kind: str, name: Optional[str] = None) -> Callable[[Any], Any]:
    """Mark the decorated class (or function) as a framework component of ``kind``, under
    ``name`` (default its ``__name__``). The built-in plugin registers it when the
    plugins load, with the same checks as any plugin's registration."""

    def mark(obj: Any) -> Any:
        _MARKED.append((kind, name or obj.__name__, obj))
        return obj

    return mark


def marked_components(module: str) -> List[Tuple[str, str, Any]]:
    """``(kind, name, obj)`` marked by :func:`component` in ``module`` (imported)."""
    return [m for m in _MARKED if getattr(m[2], "__module__", None) == module]


def component_example(kind: str, obj: Any) -> Dict[str, Any]:
    """The ``example`` a component of ``kind`` declares (module docstring), checked:
    ``ValueError`` naming the component when it is missing or lacks a key."""
    label = f"{kind} {getattr(obj, '__name__', obj)!s} ({getattr(obj, '__module__', '?')})"
    example = getattr(obj, "example", None)
    if not isinstance(example, dict):
        raise ValueError(f"{label} declares no example: give it a class attribute "
                         f"example = dict({', '.join(f'{k}=...' for k in EXAMPLE_KEYS[kind])}) "
                         "(see pisa.registry)")
    missing = [k for k in EXAMPLE_KEYS[kind] if k not in example]
    if missing:
        raise ValueError(f"{label}: example lacks {', '.join(missing)}")
    return example


#: kind name (as plugins and ``pisa list`` say it) -> registry
KINDS: Dict[str, Registry] = {
    "backbone": BACKBONES,
    "aggregator": AGGREGATORS,
    "fusion": FUSIONS,
    "head": HEADS,
    "sequence_head": SEQUENCE_HEADS,
    "loss": LOSSES,
    "model": MODELS,
    "dataset": DATASETS,
    "transform": TRANSFORMS,
    "clip_sampler": CLIP_SAMPLERS,
    "metric": METRICS,
    "hook": HOOKS,
    "data_sampler": DATA_SAMPLERS,
    "visualizer": VISUALIZERS,
    "optim_wrapper": OPTIM_WRAPPERS,
    "loop": LOOPS,
    "param_scheduler": PARAM_SCHEDULERS,
    "decision_rule": DECISION_RULES,
    "baseline": BASELINES,
    "transcriber": TRANSCRIBERS,
}

__all__ = ["KINDS", "SCOPE", "EXAMPLE_KEYS", "ComponentRegistry", "before_first_lookup", "component",
           "component_example", "marked_components"] + [
    "MODELS", "DATASETS", "TRANSFORMS", "METRICS", "HOOKS", "DATA_SAMPLERS", "VISUALIZERS",
    "OPTIM_WRAPPERS", "LOOPS", "OPTIMIZERS", "OPTIM_WRAPPER_CONSTRUCTORS", "PARAM_SCHEDULERS",
    "EVALUATOR", "LOG_PROCESSORS", "VISBACKENDS", "MODEL_WRAPPERS", "WEIGHT_INITIALIZERS",
    "BACKBONES", "AGGREGATORS", "FUSIONS", "HEADS", "SEQUENCE_HEADS", "LOSSES", "CLIP_SAMPLERS",
    "DECISION_RULES", "BASELINES", "TRANSCRIBERS",
]
