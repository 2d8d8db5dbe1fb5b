"""Fusion of per-modality sample features ``[(B, D_i)]`` -> ``(B, D)``."""
from __future__ import annotations

from typing import List, Sequence

import torch
from torch import nn

from pisa.registry import component


@component("fusion")
class ConcatFusion(nn.Module):
    """Concatenate the modality features (the paper's multimodal branch: 4096 + 512 -> 4608).

    ``detach=True`` cuts the gradient into the single-modality backbones, as the paper
    does ("we do not back-propagate from the multimodal branch to individual modality
    backbones"); ``detach=False`` trains them through this branch too.
    """

    # detach=False so that the example's backward reaches the inputs
    example = dict(args=dict(detach=False), input_shapes=[(2, 6), (2, 10)])

    def __init__(self, in_features: Sequence[int] = (4096, 512), detach: bool = True) -> None:
        super().__init__()
        self.in_features = [int(d) for d in in_features]
        if not self.in_features:
            raise ValueError("ConcatFusion: in_features must list at least one feature size")
        self.detach = detach
        self.out_features = sum(self.in_features)

    def forward(self, feats: List[torch.Tensor]) -> torch.Tensor:
        sizes = [f.shape[-1] if f.dim() == 2 else None for f in feats]
        if sizes != self.in_features:
            raise ValueError(
                f"ConcatFusion expects {len(self.in_features)} features of sizes "
                f"{self.in_features} (each (B, D_i)), got shapes {[tuple(f.shape) for f in feats]}"
            )
        if self.detach:
            feats = [f.detach() for f in feats]
        return torch.cat(feats, dim=1)
