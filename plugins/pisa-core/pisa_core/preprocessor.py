"""The data preprocessor of CoRe's pair samples: the framework's, over the exemplars too."""
from __future__ import annotations

import torch

from pisa.plugin_api import AQADataPreprocessor


class ExemplarDataPreprocessor(AQADataPreprocessor):
    """:class:`pisa.plugin_api.AQADataPreprocessor` for pair samples: also
    ``inputs['exemplar_video']`` uint8 ``(B, E, K, 3, T, H, W)`` -> float32 normalised
    alike, ``exemplar_audio`` as ``audio``, and ``data_samples['exemplar_score']`` ->
    float32."""

    def forward(self, data: dict, training: bool = False) -> dict:
        out = super().forward(data, training)
        inputs = dict(out["inputs"])
        if "exemplar_video" in inputs:
            video = inputs["exemplar_video"]
            if video.dim() != 7:
                raise ValueError(f"inputs['exemplar_video'] must be (B, E, K, 3, T, H, W), got "
                                 f"{tuple(video.shape)}")
            inputs["exemplar_video"] = self.normalize_video(video.flatten(0, 1)).view(video.shape)
        if "exemplar_audio" in inputs:
            inputs["exemplar_audio"] = self.normalize_audio(inputs["exemplar_audio"])
        samples = out.get("data_samples")
        if isinstance(samples, dict) and isinstance(samples.get("exemplar_score"), torch.Tensor):
            samples = dict(samples, exemplar_score=samples["exemplar_score"].float())
        return {"inputs": inputs, "data_samples": samples}
