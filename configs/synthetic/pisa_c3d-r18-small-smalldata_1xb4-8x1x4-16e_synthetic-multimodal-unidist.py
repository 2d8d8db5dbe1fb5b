# The CPU demo model (pisa_c3d-r18-small_...: the PISA multimodal model, narrowed) with
# the small-data presets of _base_/regularisation/: cross-entropy with label smoothing 0.1
# and dropout 0.5 in the heads, AdamW with weight decay 1e-2, a warm-up and a cosine decay
# from a peak lr of 5e-4 (half the demo's 1e-3) over 16 epochs, early stopping on the
# validation accuracy (patience 10), and augmentations of both modalities in training:
# clip positions jittered by up to a quarter clip, a random resized crop (70-100 % of the
# area), horizontal flips, colour jitter (the same for every frame of a sample) and
# SpecAugment masks on the mel images. Data, split, model size and the calibration after
# training are the demo's; validation and test read exactly what the demo reads.
# benchmarks/small_data.py compares the two over seeds.
_base_ = [
    '../_base_/regularisation/label-smoothing-0.1.py',  # the model: pisa_multimodal.py + CE smoothing
    '_synthetic_data.py',
    '../_base_/regularisation/small-data.py',  # the schedule: AdamW, warm-up + cosine
    '../_base_/regularisation/early-stopping.py',  # the runtime: default_runtime.py + early stopping
]
num_clips, clip_len = _base_.num_clips, _base_.clip_len
_cache = '{{$PISA_CACHE_DIR:-}}'
_dataset = dict(
    split_mode='released', test_fraction=None, val_performances=0.15,
    cache_dir=None if _cache == '-' else _cache,
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len))
train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=_base_.frame_size),
    dict(type='RandomResizedCrop', scale=(0.7, 1.0), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02),
    dict(type='LoadAudio', sample_rate=_base_.sample_rate),
    dict(type='MelSpectrogram', size=_base_.mel_size),
    dict(type='SpecAugment', freq_masks=2, freq_width=8, time_masks=2, time_width=8),
    dict(type='PackAQAInputs', modalities=('video', 'audio')),
]
train_dataloader = dict(dataset=dict(
    _dataset, pipeline=train_pipeline,
    # jitter: frames, a quarter of the 8-frame clips
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len, max_samples=3,
                      jitter=2)))
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
model = dict(
    video_backbone=dict(widths=(16, 32, 64), feature_dim=256, clip_len=clip_len,
                        size=_base_.frame_side),
    audio_backbone=dict(width=16),
    head=dict(dropout=0.5))  # head-dropout-0.5.py's change: one model preset per _base_ list
optim_wrapper = dict(optimizer=dict(lr=5e-4))
train_cfg = dict(max_epochs=16)
default_hooks = dict(logger=dict(interval=10))
calibration = dict(temperature=True, select_decision=True, metric='performance_mae')
