"""The transformer-encoder clip aggregator (the package docstring)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn


class TransformerAggregator(nn.Module):
    """``(B, K, in_features)`` -> ``(B, out_features)``; at most ``max_clips`` clips."""

    example = dict(args=dict(num_heads=4, num_layers=1), input_shape=(2, 3, 16))

    def __init__(self, in_features: int, embed_dim: Optional[int] = None, num_layers: int = 1,
                 num_heads: int = 4, ff_dim: Optional[int] = None, dropout: float = 0.0,
                 pool: str = "cls", max_clips: int = 64) -> None:
        super().__init__()
        name = type(self).__name__
        embed_dim = embed_dim or in_features
        if embed_dim % num_heads:
            raise ValueError(f"{name}: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        if pool not in ("cls", "mean"):
            raise ValueError(f"{name}: pool must be 'cls' or 'mean', got {pool!r}")
        self.in_features = in_features
        self.out_features = embed_dim
        self.pool = pool
        self.max_clips = max_clips
        self.proj = nn.Linear(in_features, embed_dim) if embed_dim != in_features else nn.Identity()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim)) if pool == "cls" else None
        self.pos_embed = nn.Parameter(torch.zeros(1, max_clips + (pool == "cls"), embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        if self.cls_token is not None:
            nn.init.trunc_normal_(self.cls_token, std=0.02)
        layer = nn.TransformerEncoderLayer(embed_dim, num_heads, ff_dim or 2 * embed_dim, dropout,
                                           batch_first=True, norm_first=True)
        # nested-tensor fast path only applies to post-norm layers; say so to keep torch quiet
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        name = type(self).__name__
        if feats.dim() != 3 or feats.shape[-1] != self.in_features:
            raise ValueError(f"{name} expects clip features (B, K, {self.in_features}), got {tuple(feats.shape)}")
        if feats.shape[1] > self.max_clips:
            raise ValueError(f"{name}: {feats.shape[1]} clips exceed max_clips={self.max_clips}")
        x = self.proj(feats)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(len(x), -1, -1), x], dim=1)
        x = self.norm(self.encoder(x + self.pos_embed[:, : x.shape[1]]))
        return x[:, 0] if self.pool == "cls" else x.mean(dim=1)
