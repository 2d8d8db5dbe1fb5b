# CPU demo: the PISA multimodal model, narrowed (C3D widths 16..64, 256-d clip features,
# 56x56 frames, 8-frame clips, 64x64 mel images) and trained briefly on the synthetic
# dataset: pisa synth data/synthetic && pisa train <this config>.
_base_ = [
    '../_base_/models/pisa_multimodal.py',
    '_synthetic_data.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    video_backbone=dict(widths=(16, 32, 64), feature_dim=256, clip_len=8, size=56))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=10)
default_hooks = dict(logger=dict(interval=5))
