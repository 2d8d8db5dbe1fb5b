"""``pisa predict`` end to end on a long performance against the model's forward time
alone on the same samples."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Sequence, Tuple

import torch

from benchmarks.common import Result, overhead_result
from benchmarks.loading import AUDIO_RATE, CLIP_LEN, FRAME_SIZE, MEL_SIZE, NUM_CLIPS
from benchmarks.training import MEAN, STD


def predict_config(widths: Sequence[int], num_clips: int = NUM_CLIPS) -> str:
    """Config text: the PISA multimodal model (C3D with ``widths``, ResNet-18 on mel
    images) and the test dataset (consecutive samples of ``num_clips`` clips x 16 frames,
    112x112, mel 224x224), so the level samples are the timeline's segments."""
    model = dict(
        type="AQAModel",
        data_preprocessor=dict(type="AQADataPreprocessor", mean=list(MEAN), std=list(STD)),
        video_backbone=dict(type="C3D", widths=tuple(widths), feature_dim=None, clip_len=CLIP_LEN,
                            size=FRAME_SIZE[0]),
        audio_backbone=dict(type="AudioResNet18", pretrained=None),
        fusion=dict(type="ConcatFusion", detach=True),
        head=dict(type="LevelHead", hidden=128, num_classes=10, dropout=0.0),
        branches=("video", "audio", "multimodal"), decision_branch="multimodal")
    pipeline = [dict(type="DecodeFrames"), dict(type="CropResize", size=FRAME_SIZE),
                dict(type="LoadAudio", sample_rate=AUDIO_RATE),
                dict(type="MelSpectrogram", size=MEL_SIZE),
                dict(type="PackAQAInputs", modalities=("video", "audio"))]
    dataset = dict(type="PISADataset",
                   clip_sampler=dict(type="ContiguousSampler", num_clips=num_clips, clip_len=CLIP_LEN),
                   pipeline=pipeline)
    loader = dict(batch_size=2, collate_fn=dict(type="default_collate"), dataset=dataset)
    return f"model = {model!r}\ntest_dataloader = {loader!r}\n"


def write_predict_model(widths: Sequence[int], num_clips: int, work_dir: Path) -> Tuple[Path, Path]:
    """``(config, checkpoint)`` of :func:`predict_config`'s model, its weights drawn from
    seed 0, written into ``work_dir``."""
    from pisa.engine.config_loader import load_config
    from pisa.registry import MODELS

    config = work_dir / "predict_config.py"
    config.write_text(predict_config(widths, num_clips))
    torch.manual_seed(0)
    checkpoint = work_dir / "predict_weights.pth"
    torch.save(MODELS.build(load_config(config).model).state_dict(), checkpoint)
    return config, checkpoint


def bench_predict(video: Path, crop: Sequence[int], widths: Sequence[int], work_dir: Path,
                  num_clips: int = NUM_CLIPS) -> Result:
    """End-to-end :meth:`pisa.apis.Assessor.assess` time (decode, audio, mel images,
    model) against ``model.test_step`` alone on the same samples, batched the same way."""
    from mmengine.dataset import default_collate

    from pisa.apis import init_assessor

    config, checkpoint = write_predict_model(widths, num_clips, work_dir)
    assessor = init_assessor(config, checkpoint)

    # the assessment's own samples (its dataset and DataLoader), collated up front: not timed
    dataset = assessor.recording_dataset(video, crop)
    loader = torch.utils.data.DataLoader(dataset, batch_size=assessor.batch_size, shuffle=False,
                                         num_workers=0, collate_fn=default_collate)
    batches = list(loader)
    frames = int(dataset.performances[0]["num_frames"])
    with torch.no_grad():
        assessor.model.test_step(batches[0])  # warm-up
        start = time.perf_counter()
        for batch in batches:
            assessor.model.test_step(batch)
        forward_s = time.perf_counter() - start
    del batches, loader, dataset
    start = time.perf_counter()
    pred = assessor.assess(video, crop=crop)
    predict_s = time.perf_counter() - start
    return overhead_result(
        "predict", f"pisa predict end to end on a {frames}-frame performance",
        "the model's forward (test_step) alone on the same samples", predict_s, forward_s, 1.15,
        notes=[f"{len(pred.segments)} segments of {num_clips}x{CLIP_LEN} frames (the level samples "
               f"themselves), batch {assessor.batch_size}; C3D widths {tuple(widths)} + ResNet-18 "
               "on mel images"],
        extra=dict(segments=len(pred.segments), samples=pred.num_samples, frames=frames))
