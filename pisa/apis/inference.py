"""Assess whole recordings with a trained model, as mmaction2's ``init_recognizer`` /
``inference_recognizer`` do for recognisers::

    from pisa.apis import init_assessor

    assessor = init_assessor('configs/pisa/....py', 'work_dirs/.../best.pth')
    pred = assessor.assess('recital.mp4', crop=(100, 80, 740, 560))
    pred.level, pred.probs, pred.regression, pred.segments

:func:`init_assessor` reads the config once through the one config path
(:func:`pisa.engine.config_loader.load_config`: ``data_root``, ``cfg_options``, validation),
builds the model and loads its weights once, and chooses the assessor of the config's
dataset family in one place (:data:`ASSESSORS`): decoded media
(:class:`~pisa.apis.assessor.Assessor`, whose docstring tells how a recording is
assessed), exemplar pairs of decoded media (:class:`~pisa.apis.pair_assessor.PairAssessor`)
or clip features (:class:`~pisa.apis.feature_assessor.FeatureAssessor`).
"""
from __future__ import annotations

import copy
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, Union

import torch

from pisa.apis.assessor import Assessor, PathLike
from pisa.apis.feature_assessor import FeatureAssessor
from pisa.apis.pair_assessor import PairAssessor
from pisa.data.core.base_dataset import AQABaseDataset
from pisa.data.wrappers.feature_datasets import ClipFeatureDataset
from pisa.data.wrappers.pair_configs import wrapped_dataset_config
from pisa.data.wrappers.pairs import is_pair_config
from pisa.engine.hooks.calibration_hook import recorded_decision
from pisa.engine.checkpoint import run_member_checkpoints
from pisa.engine.config_loader import dataset_configs, load_config
from pisa.engine.validate import ConfigError
from pisa.io.safe_load import install_checkpoint_safety

#: the config sections a recording's dataset is taken from, in order of preference
DATASET_SOURCES = ("test_dataloader", "val_dataloader", "train_dataloader")

#: the assessor of each dataset family, keyed by (pair-wise, reads clip features); a
#: string: no assessor takes that family, and why
ASSESSORS: Dict[Tuple[bool, bool], Union[Type[Assessor], str]] = {
    (False, False): Assessor,
    (True, False): PairAssessor,
    (False, True): FeatureAssessor,
    (True, True): ("pairs clip features (ExemplarDataset over a feature dataset); a recording "
                   "is assessed with pairs of decoded media only"),
}


def _load_weights(model: torch.nn.Module, checkpoint: PathLike) -> None:
    """Load ``checkpoint`` (mmengine checkpoint or plain state dict) with
    ``weights_only=True`` through the allowlist of :mod:`pisa.io.safe_load`; a missing
    file raises ``FileNotFoundError``, weights that do not fit the model ``ValueError``,
    both naming the file."""
    from mmengine.runner import load_checkpoint

    install_checkpoint_safety()
    path = os.fspath(checkpoint)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        load_checkpoint(model, path, map_location="cpu", strict=True, logger="silent")
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise ValueError(
            f"checkpoint {path} does not fit the config's model: {' '.join(first[:3])[:400]}"
        ) from None


def _dataset_class(ds_cfg: Dict[str, Any]) -> Any:
    """The class a dataset config's ``type`` names (a registered name or the class)."""
    from pisa.registry import DATASETS

    kind = ds_cfg.get("type")
    return DATASETS.get(kind) if isinstance(kind, str) else kind


def _reads_features(dataset_type: type) -> bool:
    """Whether the config's dataset reads extracted clip features instead of media."""
    return issubclass(dataset_type, ClipFeatureDataset)


def assessor_class(ds_cfg: Dict[str, Any], dataset_type: type, where: str) -> Type[Assessor]:
    """The assessor of a dataset config's family (:data:`ASSESSORS`); ``dataset_type``:
    its adapter class (a pair dataset's wrapped adapter). A family no assessor takes is a
    :class:`~pisa.engine.validate.ConfigError` starting with ``where``."""
    family = ASSESSORS[(is_pair_config(ds_cfg), _reads_features(dataset_type))]
    if isinstance(family, str):
        raise ConfigError(f"{where} {family}")
    return family


def _dataset_config(cfg: Any, source: str) -> Tuple[str, Dict[str, Any], type]:
    """``(section, dataset config, adapter class)``: the first of :data:`DATASET_SOURCES`
    the config holds, which must be an :class:`~pisa.data.core.base_dataset.AQABaseDataset`, or an
    :class:`~pisa.data.wrappers.pairs.ExemplarDataset` wrapping one (the class is then the
    wrapped adapter's)."""
    found = dataset_configs(cfg)
    key = next((k for k in DATASET_SOURCES if k in found), None)
    if key is None:
        raise ConfigError(
            f"{source}: no {' / '.join(DATASET_SOURCES)} with a dataset; an assessment takes "
            "the dataset type, pipeline and clip sampler from it")
    ds_cfg = copy.deepcopy(found[key])
    field, adapter_cfg = "type", ds_cfg
    if is_pair_config(ds_cfg):
        field, adapter_cfg = "type (the ExemplarDataset's wrapped dataset)", wrapped_dataset_config(ds_cfg)
    kind, cls = adapter_cfg.get("type"), _dataset_class(adapter_cfg)
    if not (isinstance(cls, type) and issubclass(cls, AQABaseDataset)):
        raise ConfigError(
            f"{source}: {key}.dataset.{field}: {kind!r} is not an AQA dataset adapter "
            "(a registered AQABaseDataset subclass), so it cannot hold one recording")
    return key, ds_cfg, cls


def member_checkpoints(checkpoint: Union[PathLike, Sequence[PathLike]]) -> List[str]:
    """The checkpoint files an assessor loads: one file, several (an ensemble), or the
    folder of one ``--seeds``/``--folds`` call (its runs' selected checkpoints,
    :func:`~pisa.engine.checkpoint.run_member_checkpoints`)."""
    paths = [checkpoint] if isinstance(checkpoint, (str, os.PathLike)) else list(checkpoint)
    if not paths:
        raise ValueError("no checkpoint given")
    found: List[str] = []
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            found.extend(run_member_checkpoints(path))
        elif not os.path.isfile(path):
            raise FileNotFoundError(f"checkpoint {path} not found")
        else:
            found.append(path)
    return found


def init_assessor(config: PathLike, checkpoint: Union[PathLike, Sequence[PathLike]],
                  device: Union[str, torch.device] = "cpu",
                  cfg_options: Optional[Dict[str, Any]] = None, data_root: Optional[str] = None,
                  batch_size: int = 2) -> Assessor:
    """An :class:`Assessor` from a config file and trained weights (an mmengine
    checkpoint or a plain state dict; several, or a ``--seeds``/``--folds`` run folder,
    make an ensemble whose members' probabilities are averaged): the config read by
    :func:`pisa.engine.config_loader.load_config` with ``cfg_options`` and ``data_root``, the
    model built from its ``model`` and the weights loaded strictly. Each member predicts
    with the decision rule and temperature its training run recorded
    (:func:`~pisa.engine.hooks.calibration_hook.recorded_decision`) unless ``cfg_options`` set them.
    Errors name the file: a missing config or checkpoint (``FileNotFoundError``), a bad
    config (:class:`~pisa.engine.validate.ConfigError`), weights that do not fit
    (``ValueError``)."""
    from pisa.engine.hooks.calibration_hook import explicit_decision
    from pisa.registry import MODELS

    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    cfg = load_config(config, cfg_options, data_root)
    source, ds_cfg, dataset_type = _dataset_config(cfg, os.fspath(config))
    paths = member_checkpoints(checkpoint)  # before a model is built: fail fast
    family = assessor_class(ds_cfg, dataset_type, f"{os.fspath(config)}: {source}.dataset")
    extra = family.prepare(ds_cfg, os.fspath(config))  # before a model is built: fail fast
    models = []
    for path in paths:
        model = MODELS.build(cfg.model)
        _load_weights(model, path)
        record = None if explicit_decision(cfg_options) else recorded_decision(path)
        if record is not None and hasattr(model, "set_decision"):
            model.set_decision(record["rule"], float(record.get("temperature", 1.0)))
        models.append(model.to(device).eval())
    return family(cfg, models, ds_cfg, source, dataset_type, device=device,
                  batch_size=batch_size, **extra)
