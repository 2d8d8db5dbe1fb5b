"""A small learned encoder of a clip's piano roll: the backbone of the ``notes`` branch."""
from __future__ import annotations

import torch
from torch import nn


def _block(cin: int, cout: int, kernel: tuple, pool: tuple) -> nn.Sequential:
    padding = tuple(k // 2 for k in kernel)
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, padding=padding, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(pool))


class PianoRollEncoder(nn.Module):
    """Piano rolls ``(N, C, P, W)`` (C channels as :func:`pisa_transcription.piano_roll.piano_roll`
    gives them, P pitches, W time bins) -> ``(N, feature_dim)``.

    Three convolution blocks; the first two span 13 semitones by 3 time bins, so a filter
    sees an octave of harmony at once (chord shapes and intervals look the same in every
    octave, and the pitch pooling after each block lets them be found anywhere); the third
    is 3x3. Then the mean and the maximum over pitch and time of each channel (how much of
    a pattern there is, and whether it occurs at all) and a linear projection.

    Args:
        in_channels: C of the roll (3: onsets, sounding notes, velocity).
        width: channels of the first block (then 2x and 4x).
        feature_dim: output size D.
    """

    example = dict(args=dict(in_channels=3, width=4, feature_dim=8), input_shape=(2, 3, 88, 16))

    def __init__(self, in_channels: int = 3, width: int = 16, feature_dim: int = 64) -> None:
        super().__init__()
        if min(int(in_channels), int(width), int(feature_dim)) < 1:
            raise ValueError(f"PianoRollEncoder: in_channels, width and feature_dim must be >= 1, "
                             f"got {in_channels}, {width}, {feature_dim}")
        self.in_channels, self.out_features = int(in_channels), int(feature_dim)
        w = int(width)
        self.blocks = nn.Sequential(_block(self.in_channels, w, (13, 3), (2, 1)),
                                    _block(w, 2 * w, (13, 3), (2, 2)),
                                    _block(2 * w, 4 * w, (3, 3), (1, 1)))
        self.proj = nn.Linear(8 * w, self.out_features)

    def forward(self, roll: torch.Tensor) -> torch.Tensor:
        if roll.dim() != 4 or roll.shape[1] != self.in_channels:
            raise ValueError(f"PianoRollEncoder: expects piano rolls (N, {self.in_channels}, P, W), "
                             f"got shape {tuple(roll.shape)}")
        x = self.blocks(roll.float())
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return self.proj(pooled)
