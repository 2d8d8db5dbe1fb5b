"""Moves a collated batch to the model's device and normalises the video."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from pisa.registry import component


@component("model")
class AQADataPreprocessor(BaseDataPreprocessor):
    """Batch ``{'inputs': {'video', 'audio'}, 'data_samples': {...}}`` -> the same on the
    model's device, with

    - ``video`` uint8 ``(B, K, 3, T, H, W)`` -> float32 ``(x / 255 - mean) / std`` per channel;
    - ``audio`` ``(B, K, 1, F, W)`` -> float32, and ``(x - audio_mean) / audio_std`` when
      both are given (else unchanged);
    - ``data_samples['score']`` -> float32 (collation makes Python floats float64).
    """

    def __init__(self, mean: Sequence[float] = (0.43216, 0.39466, 0.37645),
                 std: Sequence[float] = (0.22803, 0.22145, 0.21698),
                 audio_mean: Optional[float] = None, audio_std: Optional[float] = None,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        if len(mean) != len(std):
            raise ValueError(f"AQADataPreprocessor: mean {list(mean)} and std {list(std)} differ in length")
        if any(s <= 0 for s in std) or (audio_std is not None and audio_std <= 0):
            raise ValueError("AQADataPreprocessor: std values must be > 0")
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32), persistent=False)
        self.audio_mean = audio_mean
        self.audio_std = audio_std

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = dict(data["inputs"])
        if "video" in inputs:
            inputs["video"] = self.normalize_video(inputs["video"])
        if "audio" in inputs:
            inputs["audio"] = self.normalize_audio(inputs["audio"])
        samples = data.get("data_samples")
        if isinstance(samples, dict) and isinstance(samples.get("score"), torch.Tensor):
            samples = dict(samples, score=samples["score"].float())
        return {"inputs": inputs, "data_samples": samples}

    def normalize_video(self, video: torch.Tensor) -> torch.Tensor:
        """uint8 ``(B, K, C, T, H, W)`` -> float32 ``(x / 255 - mean) / std``."""
        if video.dtype != torch.uint8:
            raise TypeError(f"inputs['video'] must be uint8 (0..255) as packed by the dataset, got {video.dtype}")
        if video.dim() != 6 or video.shape[2] != self.mean.numel():
            raise ValueError(
                f"inputs['video'] must be (B, K, {self.mean.numel()}, T, H, W), got {tuple(video.shape)}"
            )
        shape = (1, 1, -1, 1, 1, 1)
        return (video.float() / 255.0 - self.mean.view(shape)) / self.std.view(shape)

    def normalize_audio(self, audio: torch.Tensor) -> torch.Tensor:
        """Mel images ``(..., 1, F, W)`` -> float32, ``(x - audio_mean) / audio_std`` when
        both are given (else unchanged)."""
        audio = audio.float()
        if self.audio_mean is not None and self.audio_std is not None:
            audio = (audio - self.audio_mean) / self.audio_std
        return audio
