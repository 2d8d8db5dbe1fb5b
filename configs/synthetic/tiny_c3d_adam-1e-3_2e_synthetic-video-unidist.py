# The smallest config that trains end to end (for tests and quick checks): video only, a
# two-block C3D on 2 clips of 4 frames at 16x16 (8x2x5x5 = 400 values, projected to 16-d),
# at most 3 samples per performance,
# 2 epochs of batches of 2. Random flips and head dropout keep training random, so
# reproducibility (seeds, resume) is tested on something that could differ.
_base_ = [
    '../_base_/models/pisa_video.py',
    '_synthetic_data.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
clip_len = 4
num_clips = 2
modalities = ('video', )
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(16, 16)),
    dict(type='PackAQAInputs', modalities=modalities),
]
train_pipeline = test_pipeline[:2] + [dict(type='RandomFlip', prob=0.5)] + test_pipeline[2:]
_dataset = dict(
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len, max_samples=3),
    modalities=modalities)
train_dataloader = dict(
    batch_size=2, dataset=dict(_dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(batch_size=2, dataset=dict(_dataset, split='val', pipeline=test_pipeline))
test_dataloader = dict(batch_size=2, dataset=dict(_dataset, split='test', pipeline=test_pipeline))
model = dict(
    video_backbone=dict(widths=(4, 8), feature_dim=16, clip_len=clip_len, size=16),
    head=dict(hidden=8, dropout=0.2))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=2)
default_hooks = dict(logger=dict(interval=1))
