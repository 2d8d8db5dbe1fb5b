"""``pisa predict`` end to end on a long performance against the model's forward time
alone on the same segments."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Sequence

import torch

from benchmarks.common import Result, overhead_result
from benchmarks.loading import AUDIO_RATE, CLIP_LEN, FRAME_SIZE, MEL_SIZE, NUM_CLIPS
from benchmarks.training import MEAN, STD


def predict_config(widths: Sequence[int], num_clips: int = NUM_CLIPS) -> str:
    """Config text: the PISA multimodal model (C3D with ``widths``, ResNet-18 on mel
    images) and the test pipeline (segments of ``num_clips`` clips x 16 frames, 112x112,
    mel 224x224)."""
    model = dict(
        type="AQAModel",
        data_preprocessor=dict(type="AQADataPreprocessor", mean=list(MEAN), std=list(STD)),
        video_backbone=dict(type="C3D", widths=tuple(widths), feature_dim=4096, clip_len=CLIP_LEN,
                            size=FRAME_SIZE[0]),
        audio_backbone=dict(type="AudioResNet18", pretrained=None),
        fusion=dict(type="ConcatFusion", detach=True),
        head=dict(type="LevelHead", hidden=128, num_classes=10, dropout=0.0),
        branches=("video", "audio", "multimodal"), decision_branch="multimodal")
    pipeline = [dict(type="DecodeFrames"), dict(type="CropResize", size=FRAME_SIZE),
                dict(type="LoadAudio", sample_rate=AUDIO_RATE), dict(type="MelSpectrogram", size=MEL_SIZE),
                dict(type="PackAQAInputs", modalities=("video", "audio"))]
    dataset = dict(type="PISADataset",
                   sampler=dict(type="ContiguousSampler", num_clips=num_clips, clip_len=CLIP_LEN),
                   pipeline=pipeline)
    return f"model = {model!r}\ntest_dataloader = dict(batch_size=2, dataset={dataset!r})\n"


def bench_predict(video: Path, crop: Sequence[int], widths: Sequence[int], work_dir: Path,
                  num_clips: int = NUM_CLIPS) -> Result:
    """End-to-end :class:`~pisa.evaluation.predict.RecordingPredictor` time (decode, audio,
    mel images, model) against ``model.test_step`` alone on the same packed segments."""
    from mmengine.config import Config
    from mmengine.dataset import default_collate

    from pisa.data import audio as audio_lib
    from pisa.data.samplers import contiguous_indices
    from pisa.data.transforms import open_video
    from pisa.evaluation.predict import RecordingPredictor
    from pisa.registry import MODELS

    config = work_dir / "predict_config.py"
    config.write_text(predict_config(widths, num_clips))

    torch.manual_seed(0)
    checkpoint = work_dir / "predict_weights.pth"
    torch.save(MODELS.build(Config.fromfile(str(config)).model).state_dict(), checkpoint)
    predictor = RecordingPredictor(str(config), checkpoint)

    # the same segments the predictor makes (its own generator), packed up front: not timed
    reader = open_video(str(video))
    fps = float(reader.get_avg_fps())
    inds = contiguous_indices(len(reader), predictor.num_clips, predictor.clip_len)
    audio = audio_lib.load_audio(video, predictor.sample_rate)
    samples: List[Dict[str, Any]] = list(predictor._segments(str(video), reader, inds, fps, audio, crop))
    batches = [default_collate(samples[i:i + predictor.batch_size])
               for i in range(0, len(samples), predictor.batch_size)]
    del samples
    with torch.no_grad():
        predictor.model.test_step(batches[0])  # warm-up
        start = time.perf_counter()
        for batch in batches:
            predictor.model.test_step(batch)
        forward_s = time.perf_counter() - start
    del batches
    start = time.perf_counter()
    pred = predictor.predict(video, crop=crop, progress=False)
    predict_s = time.perf_counter() - start
    return overhead_result(
        "predict", f"pisa predict end to end on a {len(reader)}-frame performance",
        "the model's forward (test_step) alone on the same segments", predict_s, forward_s, 1.15,
        notes=[f"{len(pred.segments)} segments of {num_clips}x{CLIP_LEN} frames, batch "
               f"{predictor.batch_size}; C3D widths {tuple(widths)} + ResNet-18 on mel images"],
        extra=dict(segments=len(pred.segments), frames=len(reader)))
