# The CPU demo's notes model (scripts/demo.sh trains it beside the PISA model on the same
# split): the notes branch alone (pisa-transcription plugin): per clip a piano roll
# (3 x 88 x 32 bins) through a small CNN (PianoRollEncoder at width 8, 64-d) beside the
# clip's 21 note descriptors, averaged over 4 clips, the whole performance's descriptors
# beside them, a 64-d head; Eq. 1's losses (CE + 0.1 (L1 + L2)). Clips of 32 frames
# (about 1 s at 30 fps: a 8-frame clip holds a note or two). Adam 1e-3, cosine to 1e-5
# over 16 epochs, as the demo's PISA model; the same split and validation carve.
# The pipelines decode no frames: notes are transcribed once (`pisa prepare` or the first
# epoch) into the note store beside the prepared cache ($PISA_CACHE_DIR when set).
_base_ = [
    '../_base_/models/pisa_notes.py',
    '_synthetic_data.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
num_clips, clip_len = 4, 32
modalities = ('notes', )
_dataset = dict(
    split_mode='released', test_fraction=None, val_performances=0.15, modalities=modalities,
    cache_dir=None, pipeline={{_base_.notes_pipeline}},
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len))
train_dataloader = dict(dataset=dict(
    _dataset,
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len, max_samples=3)))
val_dataloader = dict(dataset=_dataset)
test_dataloader = dict(dataset=_dataset)
model = dict(
    video_backbone=None, video_aggregator=None, audio_backbone=None, audio_aggregator=None,
    fusion=None, fusion_modalities=None, branches=('notes', ), decision_branch='notes',
    notes_backbone=dict(width=8, feature_dim=64),
    head=dict(hidden=64))
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=16)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=16, eta_min=1e-5, by_epoch=True)]
default_hooks = dict(logger=dict(interval=10))
calibration = dict(temperature=True, select_decision=True, metric='performance_mae')
