# CPU demo (scripts/demo.sh): the PISA multimodal model of Fig. 4, narrowed for a CPU, on
# `pisa synth --performances 120 --seconds 6 --test-fraction 0.3` data.
# Same structure as the paper: C3D on clips + ResNet-18 on mel images, clip features
# averaged, concatenation fusion, a head per branch, Eq. 1 losses (CE + 0.1 (L1 + L2)).
# Narrowed: C3D widths 16/32/64 on 8-frame 56x56 clips (its last pool padded as in the
# paper's C3D: 64x2x8x8 = 8192 values), which keeps a small Linear projection to 256-d so
# the video feature does not swamp the 128-d audio one in the fusion; ResNet-18 at width 16
# on 64x64 mel images (128-d); 4 clips per sample; Adam from 1e-3, cosine-annealed to
# 1e-5 over 16 epochs, each epoch reading 3 samples of every training performance (many
# performances, few samples each).
# Split: the synthetic table's own split (balanced over levels: every level in train and
# in test); 15 % of the train performances (12) carved out to choose the checkpoint.
# The prepared cache (`pisa prepare CONFIG --cache-dir DIR`) is read from PISA_CACHE_DIR
# when it is set ('-': no cache, samples are decoded from the videos).
_base_ = [
    '../_base_/models/pisa_multimodal.py',
    '_synthetic_data.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
num_clips, clip_len = {{_base_.num_clips}}, {{_base_.clip_len}}
_cache = '{{$PISA_CACHE_DIR:-}}'
_dataset = dict(
    split_mode='released', test_fraction=None, val_performances=0.15,
    cache_dir=None if _cache == '-' else _cache,
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len))
train_dataloader = dict(dataset=dict(
    _dataset,
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len, max_samples=3)))
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
model = dict(
    video_backbone=dict(widths=(16, 32, 64), feature_dim=256, clip_len=clip_len, size={{_base_.frame_side}}),
    audio_backbone=dict(width=16))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=16)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=16, eta_min=1e-5, by_epoch=True)]
default_hooks = dict(logger=dict(interval=10))
# After training: a temperature and the decision rule with the lowest performance-level MAE,
# both fitted on the validation performances (pisa.engine.hooks.calibration_hook) and recorded in
# results.json, where `pisa test` and `pisa predict` read them back.
calibration = dict(temperature=True, select_decision=True, metric='performance_mae')
