"""Heads over clip-feature sequences: ``(B, K, D)`` -> ``{'cls': (B, C), 'reg': (B,)}``
(the ``sequence_head`` kind of :mod:`pisa.registry`), for models trained on extracted
clip features (:class:`~pisa.models.feature_model.FeatureAQAModel`).

- :class:`GDLTHead`: the long-form scorer of GDLT (Xu et al., "Likert Scoring with Grade
  Decoupling for Long-term Action Assessment", CVPR 2022; ``models/model.py`` of
  github.com/xuangch/CVPR22_GDLT): learned grade queries attend to the encoded clip
  sequence, and the score is the sigmoid-weighted mean of the grades' fixed values.
- :class:`ClipMLPHead`: an MLP on each clip, averaged over the clips (a baseline).
- :class:`TemporalConvHead`: 1-D convolutions over the clip sequence, averaged (a
  baseline that sees clip order).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from pisa.registry import component


def check_sequence(name: str, feats: torch.Tensor, in_features: int) -> None:
    """Raise a ValueError naming ``name`` unless ``feats`` is ``(B, K, in_features)``."""
    if feats.dim() != 3 or feats.shape[-1] != in_features or feats.shape[1] < 1:
        raise ValueError(f"{name} expects clip features (B, K, {in_features}), got {tuple(feats.shape)}")


class _ScoreOutputs(nn.Module):
    """The classifier and regressor a baseline head ends with (as ``LevelHead``):
    ``num_classes=0`` gives ``cls`` of shape ``(B, 0)``."""

    def __init__(self, hidden: int, num_classes: int) -> None:
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        self.num_classes = int(num_classes)
        self.cls = nn.Linear(hidden, num_classes) if num_classes > 0 else None
        self.reg = nn.Linear(hidden, 1)

    def forward(self, hidden: torch.Tensor) -> Dict[str, torch.Tensor]:
        cls = self.cls(hidden) if self.cls is not None else hidden.new_zeros(len(hidden), 0)
        return {"cls": cls, "reg": self.reg(hidden).squeeze(1)}


def grade_triplet_loss(embed: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """GDLT's hardest-triplet loss on the grade queries' embeddings ``(B, Q, H)``
    (``models/triplet_loss.py``, ``HardTripletLoss(hardest=True)`` with its cosine
    distance): the ``B*Q`` embeddings are labelled by their query, and for each anchor
    ``relu(max d(a, same query) - min d(a, other query) + margin)``, averaged. Keeps the
    grades apart across the batch."""
    b, q, h = embed.shape
    x = F.normalize(embed.reshape(b * q, h), dim=-1)
    dist = 1.0 - x @ x.t()
    labels = torch.arange(q, device=embed.device).repeat(b)
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(b * q, dtype=torch.bool, device=embed.device)
    hardest_positive = (dist * positive).amax(dim=1)
    farthest = dist.amax(dim=1, keepdim=True)
    hardest_negative = (dist + farthest * same).amin(dim=1)
    return F.relu(hardest_positive - hardest_negative + margin).mean()


@component("sequence_head")
class GDLTHead(nn.Module):
    """GDLT's grade-decoupling scorer over a clip-feature sequence ``(B, K, D)``.

    As in GDLT's ``GDLT`` module: a 1x1-conv projection ``D -> D/2 -> hidden`` with batch
    norm; a transformer (torch's encoder and decoder layers as ``torch.nn.Transformer``
    builds them: post-norm, final layer norms, feed-forward ``3 * hidden``, Xavier init;
    GDLT's ``transformer.py`` is a copy of it that also returns attention maps) whose
    encoder reads the projected clips and whose decoder lets ``num_queries`` learned
    grade queries (an ``nn.Embedding``) attend to them; a
    linear map from each query's embedding to ``num_queries`` values of which query ``j``
    keeps its ``j``-th (GDLT's ``diagonal``); ``w = sigmoid(s) / sum(sigmoid(s))`` and the
    score ``sum_j w_j * g_j`` with the grades ``g = linspace(0, 1, num_queries)``, here
    mapped to ``score_range`` (GDLT's targets are ``score / 25``, ``(0, 1)``).

    Departures: ``score_range`` and an optional classifier on the mean query embedding
    (``num_classes > 0``, for level datasets); GDLT's triplet term on the query embeddings
    (``alpha`` in its loss) is :meth:`auxiliary_losses` (weight ``triplet_weight``, margin
    ``margin``), which the feature model adds to its losses.

    Output: ``cls`` ``(B, C)``, ``reg`` ``(B,)``, and ``embed`` ``(B, Q, hidden)`` (the
    decoded queries) and ``grade_weights`` ``(B, Q)``.
    """

    example = dict(args=dict(hidden=8, num_queries=3, num_decoder_layers=1, dropout=0.0,
                             num_classes=4),
                   input_shape=(2, 5, 16))

    def __init__(self, in_features: int, hidden: int = 256, num_heads: int = 1,
                 num_encoder_layers: int = 1, num_decoder_layers: int = 2, num_queries: int = 4,
                 dropout: float = 0.3, score_range: Sequence[float] = (0.0, 1.0),
                 num_classes: int = 0, triplet_weight: float = 1.0, margin: float = 1.0) -> None:
        super().__init__()
        if num_queries < 2:
            raise ValueError(f"GDLTHead: num_queries must be >= 2 (the grades span 0..1), got {num_queries}")
        if hidden % num_heads:
            raise ValueError(f"GDLTHead: hidden={hidden} is not divisible by num_heads={num_heads}")
        lo, hi = (float(v) for v in score_range)
        if not hi > lo:
            raise ValueError(f"GDLTHead: score_range must be (low, high) with high > low, got {score_range}")
        if num_classes < 0:
            raise ValueError(f"GDLTHead: num_classes must be >= 0, got {num_classes}")
        self.in_features, self.num_classes = int(in_features), int(num_classes)
        self.score_range = (lo, hi)
        self.triplet_weight, self.margin = float(triplet_weight), float(margin)
        mid = max(1, in_features // 2)
        self.in_proj = nn.Sequential(
            nn.Conv1d(in_features, mid, kernel_size=1), nn.BatchNorm1d(mid), nn.ReLU(),
            nn.Conv1d(mid, hidden, kernel_size=1), nn.BatchNorm1d(hidden))
        # what torch.nn.Transformer builds (and GDLT's copy of it), with the encoder's
        # nested-tensor path off: it only warns for GDLT's single attention head
        layer = dict(d_model=hidden, nhead=num_heads, dim_feedforward=3 * hidden,
                     dropout=dropout, batch_first=True)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(**layer),
                                             num_encoder_layers, norm=nn.LayerNorm(hidden),
                                             enable_nested_tensor=False)
        self.decoder = nn.TransformerDecoder(nn.TransformerDecoderLayer(**layer),
                                             num_decoder_layers, norm=nn.LayerNorm(hidden))
        for param in [*self.encoder.parameters(), *self.decoder.parameters()]:
            if param.dim() > 1:  # torch.nn.Transformer._reset_parameters
                nn.init.xavier_uniform_(param)
        self.prototype = nn.Embedding(num_queries, hidden)
        self.register_buffer("grades", torch.linspace(0, 1, num_queries), persistent=False)
        self.regressor = nn.Linear(hidden, num_queries)
        self.cls = nn.Linear(hidden, num_classes) if num_classes > 0 else None

    def forward(self, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        check_sequence(type(self).__name__, feats, self.in_features)
        b = feats.shape[0]
        x = self.in_proj(feats.transpose(1, 2)).transpose(1, 2)  # (B, K, hidden)
        queries = self.prototype.weight.unsqueeze(0).expand(b, -1, -1)
        encoded = self.encoder(x)
        embed = self.decoder(queries, encoded)  # (B, Q, hidden)
        s = torch.diagonal(self.regressor(embed), dim1=-2, dim2=-1)  # (B, Q)
        weights = torch.sigmoid(s)
        weights = weights / weights.sum(dim=1, keepdim=True)
        grade = (weights * self.grades).sum(dim=1)
        lo, hi = self.score_range
        cls = self.cls(embed.mean(dim=1)) if self.cls is not None else embed.new_zeros(b, 0)
        return {"cls": cls, "reg": lo + (hi - lo) * grade, "embed": embed,
                "grade_weights": weights}

    def auxiliary_losses(self, out: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``{'triplet': triplet_weight * grade_triplet_loss(embed, margin)}`` (GDLT's
        ``alpha`` term), or nothing with ``triplet_weight=0``."""
        if self.triplet_weight == 0:
            return {}
        return {"triplet": self.triplet_weight * grade_triplet_loss(out["embed"], self.margin)}


@component("sequence_head")
class ClipMLPHead(nn.Module):
    """Baseline: an MLP on each clip's feature (``layers`` Linear + ReLU + dropout to
    ``hidden``), averaged over the clips, then a classifier (``num_classes``; 0: none) and
    a regressor."""

    example = dict(args=dict(hidden=8, num_classes=5), input_shape=(2, 3, 16))

    def __init__(self, in_features: int, hidden: int = 256, layers: int = 2,
                 num_classes: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        if layers < 1:
            raise ValueError(f"ClipMLPHead: layers must be >= 1, got {layers}")
        self.in_features, self.num_classes = int(in_features), int(num_classes)
        blocks = []
        width = in_features
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        self.mlp = nn.Sequential(*blocks)
        self.out = _ScoreOutputs(hidden, num_classes)

    def forward(self, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        check_sequence(type(self).__name__, feats, self.in_features)
        return self.out(self.mlp(feats).mean(dim=1))


@component("sequence_head")
class TemporalConvHead(nn.Module):
    """Baseline that sees clip order: ``layers`` 1-D convolutions over the clips (kernel
    ``kernel_size``, same padding, ReLU, dropout) to ``hidden`` channels, averaged over the
    clips, then a classifier (``num_classes``; 0: none) and a regressor."""

    example = dict(args=dict(hidden=8, num_classes=5), input_shape=(2, 4, 16))

    def __init__(self, in_features: int, hidden: int = 256, layers: int = 2, kernel_size: int = 3,
                 num_classes: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        if layers < 1 or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"TemporalConvHead: layers >= 1 and an odd kernel_size, got "
                             f"{layers} and {kernel_size}")
        self.in_features, self.num_classes = int(in_features), int(num_classes)
        blocks = []
        width = in_features
        for _ in range(layers):
            blocks += [nn.Conv1d(width, hidden, kernel_size, padding=kernel_size // 2),
                       nn.ReLU(inplace=True), nn.Dropout(dropout)]
            width = hidden
        self.convs = nn.Sequential(*blocks)
        self.out = _ScoreOutputs(hidden, num_classes)

    def forward(self, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        check_sequence(type(self).__name__, feats, self.in_features)
        return self.out(self.convs(feats.transpose(1, 2)).mean(dim=2))


def auxiliary_losses(head: nn.Module, out: Dict[str, torch.Tensor]) -> Optional[Dict[str, torch.Tensor]]:
    """The extra loss terms a head computes on its own output (its ``auxiliary_losses``),
    or None for a head without them."""
    fn = getattr(head, "auxiliary_losses", None)
    return fn(out) if callable(fn) else None
