# The smallest feature run (tests, quick checks): the tiny end-to-end config's C3D
# (synthetic/tiny_c3d_adam-1e-3_2e_synthetic-video-unidist.py: two blocks on 2 clips of 4
# frames at 16x16, projected to 16-d, at most 3 samples per performance) run once over the
# videos, then its head (clip features averaged, LevelHead with 8 hidden units and dropout
# 0.2) trained 2 epochs on the features. It computes what
# tiny_c3d-frozen_adam-1e-3_2e_synthetic-video-unidist.py computes end to end.
_base_ = [
    '_synthetic_features.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
_source = dict(
    clip_sampler=dict(type='UniformSampler', num_clips=2, clip_len=4, max_samples=3),
    pipeline=[
        dict(type='DecodeFrames'),
        dict(type='CropResize', size=(16, 16)),
        dict(type='PackAQAInputs', modalities=('video', )),
    ])
_extractor = dict(
    backbone=dict(widths=(4, 8), feature_dim=16, clip_len=4, size=16),
    weights='{{$PISA_BACKBONE_WEIGHTS:work_dirs/backbones/tiny_c3d.pth}}')
train_dataloader = dict(batch_size=2, dataset=dict(source=_source, extractor=_extractor))
val_dataloader = dict(batch_size=2, dataset=dict(source=_source, extractor=_extractor))
test_dataloader = dict(batch_size=2, dataset=dict(source=_source, extractor=_extractor))
model = dict(
    type='FeatureAQAModel',
    in_features=16,
    video_aggregator=dict(type='AvgAggregator'),
    head=dict(type='LevelHead', hidden=8, num_classes=10, dropout=0.2),
    losses=[dict(type='CrossEntropyLoss', weight=1.0), dict(type='L1L2Loss', weight=0.1)],
    branches=('video', ),
    decision_branch='video')
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=2)
default_hooks = dict(logger=dict(interval=1))
