"""The AQA model on extracted clip features: :class:`FeatureAQAModel`."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Union

import torch
from torch import nn

from pisa.models.aqa_model import BRANCH_MODALITIES, MODALITIES, AQAModel
from pisa.models.losses import loss_name_of
from pisa.models.sequence_heads import auxiliary_losses
from pisa.registry import SEQUENCE_HEADS, component


class ClipFeatureInput(nn.Module):
    """The backbone of a model on extracted features: the stored clip features
    ``(N, D)`` pass unchanged (their backbone ran once, at extraction); ``out_features = D``."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        if int(in_features) < 1:
            raise ValueError(f"ClipFeatureInput: in_features must be >= 1, got {in_features}")
        self.in_features = self.out_features = int(in_features)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        if feats.dim() != 2 or feats.shape[1] != self.in_features:
            raise ValueError(f"clip features must be (N, {self.in_features}), got {tuple(feats.shape)}")
        return feats


@component("model")
class FeatureAQAModel(AQAModel):
    """:class:`~pisa.models.aqa_model.AQAModel` on clip features ``(B, K, D)`` per
    modality (``inputs = {'video': (B, K, D), ...}``, as
    :class:`~pisa.data.wrappers.feature_datasets.FeatureDataset` packs them) instead of clips: the
    backbones ran once, at extraction, and are stand-ins here (:class:`ClipFeatureInput`),
    so the aggregators, fusion, heads, losses, decision and predict outputs are
    AQAModel's, and the weights of an end-to-end model's aggregators and heads load into
    it under the same names.

    Args:
        in_features: the feature size ``D``, one int for every modality or
            ``{'video': D_v, 'audio': D_a}``; inputs of another size raise an error.
        sequence_head: a ``sequence_head`` config (:mod:`pisa.models.sequence_heads`,
            e.g. ``dict(type='GDLTHead')``) scoring the clip sequence of each branch in
            place of aggregator + ``head`` (single-modality branches only). Heads that
            compute their own extra terms (``auxiliary_losses``, GDLT's triplet term) have
            them added to the losses as ``loss_<branch>_<name>``.
        Other arguments: :class:`~pisa.models.aqa_model.AQAModel`'s, without backbones.
    """

    def __init__(self, in_features: Union[int, Dict[str, int]],
                 branches: Sequence[str] = ("video",), sequence_head: Optional[dict] = None,
                 head: dict = dict(type="LevelHead", hidden=128, num_classes=10),
                 **kwargs: Any) -> None:
        for key in ("video_backbone", "audio_backbone", "notes_backbone"):
            if kwargs.get(key) is not None:
                raise ValueError(f"FeatureAQAModel: {key} ran at extraction; a feature model "
                                 "has none (the manifest of its features names it)")
            kwargs.pop(key, None)
        branches = (branches,) if isinstance(branches, str) else tuple(branches)
        sizes = self._feature_sizes(in_features, branches, kwargs.get("fusion_modalities"))
        backbones = {f"{m}_backbone": ClipFeatureInput(d) for m, d in sizes.items()}
        super().__init__(branches=branches, head=head, **backbones, **kwargs)
        self.sequence_head = None if sequence_head is None else dict(sequence_head)
        if sequence_head is not None:
            if "multimodal" in self.branches:
                raise ValueError("FeatureAQAModel: sequence_head scores one modality's clip "
                                 "sequence; the 'multimodal' branch needs aggregators and fusion")
            for modality in self.modalities:
                setattr(self, f"{modality}_aggregator", None)  # the sequence head aggregates
            self.heads = nn.ModuleDict({
                b: SEQUENCE_HEADS.build(dict(sequence_head), default_args=dict(
                    in_features=sizes[self.branch_modalities[b][0]])) for b in self.branches})
            self._check_losses()

    @staticmethod
    def _feature_sizes(in_features: Union[int, Dict[str, int]], branches: Sequence[str],
                       fusion_modalities: Optional[Sequence[str]] = None) -> Dict[str, int]:
        reads = dict(BRANCH_MODALITIES)
        if fusion_modalities is not None:
            reads["multimodal"] = tuple(fusion_modalities)
        needed = [m for m in MODALITIES if any(m in reads.get(b, ()) for b in branches)]
        if isinstance(in_features, dict):
            missing = [m for m in needed if m not in in_features]
            if missing:
                raise ValueError(f"FeatureAQAModel: in_features has no size for {missing} "
                                 f"(branches {list(branches)})")
            return {m: int(in_features[m]) for m in needed}
        return {m: int(in_features) for m in needed}

    def extract_feats(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``inputs`` ``{modality: (B, K, D)}`` -> ``{modality: (B, D')}`` aggregated, or
        the ``(B, K, D)`` sequences themselves for a sequence head."""
        feats = {}
        for modality in self.modalities:
            if not isinstance(inputs, dict) or modality not in inputs:
                got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
                raise KeyError(f"FeatureAQAModel: inputs[{modality!r}] (clip features) is "
                               f"missing; got {got}")
            x = inputs[modality]
            if x.dim() != 3:
                raise ValueError(f"FeatureAQAModel: inputs[{modality!r}] must be clip features "
                                 f"(B, K, D), got shape {tuple(x.shape)}")
            batch, clips = x.shape[:2]
            x = getattr(self, f"{modality}_backbone")(x.float().flatten(0, 1)).view(batch, clips, -1)
            aggregator = getattr(self, f"{modality}_aggregator")
            feats[modality] = x if aggregator is None else aggregator(x)
        return feats

    def loss(self, inputs: Dict[str, torch.Tensor], data_samples: dict) -> Dict[str, torch.Tensor]:
        """AQAModel's losses (each loss on each branch, weighted) plus the heads' own extra
        terms (``auxiliary_losses``) as ``loss_<branch>_<name>``."""
        outputs = self.branch_outputs(inputs)
        device = next(iter(outputs.values()))["reg"].device
        targets = self._targets(data_samples, device)
        losses = {f"loss_{branch}_{loss_name_of(loss)}": loss(out, targets)
                  for branch, out in outputs.items() for loss in self.losses}
        for branch, out in outputs.items():
            for name, value in (auxiliary_losses(self.heads[branch], out) or {}).items():
                losses[f"loss_{branch}_{name}"] = value
        return losses
