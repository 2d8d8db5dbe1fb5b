"""Video classification (action recognition), for pretraining a video backbone on a
dataset such as UCF101 and handing its weights to the AQA model."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from pisa.models.batch import sample_column
from pisa.registry import AGGREGATORS, BACKBONES, LOSSES, MODELS, component

ConfigType = Union[dict, nn.Module]


@component("model")
class VideoRecognizer(BaseModel):
    """Clips -> backbone -> clip aggregation -> dropout -> Linear classifier.

    ``inputs['video']``: ``(B, K, 3, T, H, W)`` (after :class:`AQADataPreprocessor`); the
    clips are folded into the batch for the backbone and its ``(B*K, D)`` features
    aggregated to ``(B, D)``. The classifier gives ``(B, num_classes)`` logits; the loss
    (default cross-entropy) reads them as ``{'cls': logits}`` with ``data_samples['label']``.
    The backbone sits under ``backbone.`` in the state dict, the prefix to export with.
    """

    def __init__(self, backbone: ConfigType, num_classes: int,
                 aggregator: ConfigType = dict(type="AvgAggregator"), dropout: float = 0.5,
                 loss: ConfigType = dict(type="CrossEntropyLoss"),
                 data_preprocessor: Optional[ConfigType] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if num_classes < 2:
            raise ValueError(f"VideoRecognizer: num_classes must be >= 2, got {num_classes}")
        self.backbone = backbone if isinstance(backbone, nn.Module) else BACKBONES.build(backbone)
        self.aggregator = aggregator if isinstance(aggregator, nn.Module) else AGGREGATORS.build(
            aggregator, default_args=dict(in_features=self.backbone.out_features))
        self.num_classes = int(num_classes)
        self.dropout = nn.Dropout(dropout)
        self.cls_head = nn.Linear(self.aggregator.out_features, self.num_classes)
        self.loss_fn = loss if isinstance(loss, nn.Module) else LOSSES.build(loss)

    def logits(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """``{'video': (B, K, 3, T, H, W)}`` -> class logits ``(B, num_classes)``."""
        if not isinstance(inputs, dict) or "video" not in inputs:
            got = sorted(inputs) if isinstance(inputs, dict) else type(inputs).__name__
            raise KeyError(f"VideoRecognizer: inputs['video'] is missing; got {got}")
        video = inputs["video"]
        if video.dim() != 6:
            raise ValueError(f"VideoRecognizer: inputs['video'] must be (B, K, 3, T, H, W), "
                             f"got shape {tuple(video.shape)}")
        batch, clips = video.shape[:2]
        feats = self.backbone(video.flatten(0, 1)).view(batch, clips, -1)
        return self.cls_head(self.dropout(self.aggregator(feats)))

    def forward(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[dict] = None,
                mode: str = "tensor") -> Union[torch.Tensor, Dict[str, torch.Tensor], List[dict]]:
        """``mode='loss'``: ``{'loss_cls': scalar}``; ``'predict'``: one dict per sample;
        ``'tensor'``: the logits."""
        if mode == "tensor":
            return self.logits(inputs)
        if mode == "loss":
            if not isinstance(data_samples, dict) or "label" not in data_samples:
                raise KeyError("VideoRecognizer: mode='loss' needs data_samples['label']")
            logits = self.logits(inputs)
            label = torch.as_tensor(data_samples["label"], device=logits.device).long()
            return {"loss_cls": self.loss_fn({"cls": logits}, {"label": label})}
        if mode == "predict":
            return self.predict(inputs, data_samples)
        raise ValueError(f"VideoRecognizer: unknown mode {mode!r}; use 'loss', 'predict' or 'tensor'")

    @torch.no_grad()
    def predict(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[dict] = None) -> List[Dict[str, Any]]:
        """One dict per sample: ``pred_label`` (argmax), ``scores`` (the logits),
        ``probs`` (softmax), ``gt_label`` (-1 without labels), ``sample_id``, ``group``."""
        logits = self.logits(inputs).float()
        probs = torch.softmax(logits, dim=1)
        n = len(logits)
        gt = sample_column(data_samples, "label", int, n, default=-1)
        ids = sample_column(data_samples, "sample_id", str, n)
        groups = sample_column(data_samples, "group", str, n)
        return [{"pred_label": int(p.argmax()), "scores": s.tolist(), "probs": p.tolist(),
                 "gt_label": gt[i], "sample_id": ids[i], "group": groups[i]}
                for i, (s, p) in enumerate(zip(logits, probs))]
