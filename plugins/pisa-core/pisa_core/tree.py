"""CoRe's group-aware regression tree (GART) and its groups of score differences: the
groups cut from the training pairs' differences, the (group, position) target of a
difference, and the difference decoded from the tree's output."""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def group_bounds(differences: Sequence[float], num_leaf: int, score_range: float) -> np.ndarray:
    """CoRe's ``Group_helper`` (symmetric, ``Min=0``, ``Max=score_range``): ``(P,)``
    training differences -> ``(num_leaf, 2)`` float64 ``[low, high]`` per group, the
    positive half at the differences' quantiles, the negative half its mirror."""
    d = np.sort(np.abs(np.asarray(differences, dtype=np.float64)))
    if num_leaf < 2 or num_leaf % 2:
        raise ValueError(f"group_bounds: num_leaf must be even and >= 2, got {num_leaf}")
    if not len(d):
        raise ValueError("group_bounds: no training differences to build the groups from")
    n, half = len(d), num_leaf // 2
    bounds = np.zeros((num_leaf, 2))
    for i in range(half):
        low = 0.0 if i == 0 else d[int((i / half) * (n - 1))]
        high = float(score_range) if i == half - 1 else d[int(((i + 1) / half) * (n - 1))]
        bounds[half + i] = (low, high)
        bounds[half - 1 - i] = (-high, -low)
    return bounds


def leaf_targets(delta: torch.Tensor, bounds: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """CoRe's ``produce_label``: ``(N,)`` differences -> ``(group (N,) int64, position
    (N,))``: the group holding each (``low <= d < high`` for ``d >= 0``, ``low < d <=
    high`` below 0) and ``(d - low) / (high - low)`` (``d - low`` for a zero-width group).
    A difference in no group goes to the nearest, its position clipped to [0, 1]."""
    low, high = bounds[:, 0][None, :], bounds[:, 1][None, :]
    d = delta.to(bounds.dtype)[:, None]
    member = torch.where(d >= 0, (low <= d) & (d < high), (low < d) & (d <= high))
    inside = member.any(dim=1)
    nearest = ((low - d).clamp(min=0) + (d - high).clamp(min=0)).argmin(dim=1)
    leaf = torch.where(inside, member.to(torch.int8).argmax(dim=1), nearest)
    lo, width = bounds[leaf, 0], bounds[leaf, 1] - bounds[leaf, 0]
    offset = d[:, 0] - lo
    position = torch.where(width == 0, offset, offset / torch.where(width == 0, torch.ones_like(width), width))
    position = torch.where(inside, position, position.clamp(0.0, 1.0))
    return leaf, position


def decode_differences(leaf_logp: torch.Tensor, positions: torch.Tensor, bounds: torch.Tensor) -> torch.Tensor:
    """CoRe's ``inference``: the most probable group and its regressed position ->
    ``(N,)`` differences ``low + (high - low) * position`` (``low + position`` for a
    zero-width group)."""
    leaf = leaf_logp.argmax(dim=1)
    lo, width = bounds[leaf, 0], bounds[leaf, 1] - bounds[leaf, 0]
    pos = positions.gather(1, leaf[:, None])[:, 0].to(bounds.dtype)
    return torch.where(width == 0, lo + pos, lo + width * pos)


class GroupAwareRegressionTree(nn.Module):
    """CoRe's ``RegressTree``: ``(N, in_features)`` -> ``(leaf log-probabilities (N, L),
    positions (N, L))`` with ``L = 2 ** (depth - 1)``; each level is a grouped 1x1
    convolution (one group per node), each node splits in two by a log-softmax, a
    leaf's log-probability is the sum along its path, and one linear regressor per leaf
    gives the position."""

    def __init__(self, in_features: int, hidden: int = 256, depth: int = 5) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError(f"GroupAwareRegressionTree: depth must be >= 2, got {depth}")
        self.depth, self.num_leaf = depth, 2 ** (depth - 1)
        self.first_layer = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True))
        self.feature_layers = nn.ModuleList([
            nn.Sequential(nn.Conv1d(2 ** d * hidden, 2 ** (d + 1) * hidden, 1, groups=2 ** d),
                          nn.ReLU(inplace=True)) for d in range(depth - 1)])
        self.clf_layers = nn.ModuleList([
            nn.Conv1d(2 ** d * hidden, 2 ** (d + 1), 1, groups=2 ** d) for d in range(depth - 1)])
        self.reg_layer = nn.Conv1d(self.num_leaf * hidden, self.num_leaf, 1, groups=self.num_leaf)

    def forward(self, feats: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        x = self.first_layer(feats)[:, :, None]
        n = len(x)
        logp = None
        for clf, layer in zip(self.clf_layers, self.feature_layers):
            split = F.log_softmax(clf(x)[:, :, 0].view(n, -1, 2), dim=-1)
            if logp is not None:  # add each node's own log-probability to its two children
                split = split + logp.reshape(n, -1, 1)
            logp = split
            x = layer(x)
        return logp.reshape(n, -1), self.reg_layer(x)[:, :, 0]
