# CPU demo (scripts/demo.sh): the PISA multimodal model, narrowed, on `pisa synth` data.
_base_ = [
    '../_base_/models/pisa_multimodal.py',
    '_synthetic_data.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
clip_len = 8
num_clips = 4
frame_size = (56, 56)
mel_size = (64, 64)
sample_rate = 16000
modalities = ('video', 'audio')
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=frame_size),
    dict(type='LoadAudio', sample_rate=sample_rate),
    dict(type='MelSpectrogram', size=mel_size),
    dict(type='PackAQAInputs', modalities=modalities),
]
train_pipeline = test_pipeline[:2] + [dict(type='RandomFlip', prob=0.5)] + test_pipeline[2:]
# the prepared cache (`pisa prepare CONFIG --cache-dir DIR`) from PISA_CACHE_DIR; '-': none
_cache = '{{$PISA_CACHE_DIR:-}}'
_dataset = dict(
    split_mode='released', test_fraction=None, val_performances=12,
    cache_dir=None if _cache == '-' else _cache,
    sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len))
train_dataloader = dict(dataset=dict(_dataset, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(_dataset, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(_dataset, pipeline=test_pipeline))
model = dict(
    video_backbone=dict(widths=(16, 32, 64), feature_dim=256, clip_len=clip_len, size=frame_size[0]),
    audio_backbone=dict(width=16))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=10)
default_hooks = dict(logger=dict(interval=10))
custom_hooks = [dict(type='EpochSeedHook'), dict(type='AQAReportHook')]
