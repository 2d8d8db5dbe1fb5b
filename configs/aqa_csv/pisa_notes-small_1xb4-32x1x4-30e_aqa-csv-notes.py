# The demo's notes model (configs/synthetic/pisa_notes-small_...) on your own recordings
# through the one-CSV route (configs/_base_/datasets/aqa_csv.py: $AQA_ANN_FILE, levels
# 1..10, validation carved from the train rows): the notes branch alone (pisa-transcription
# plugin), a piano-roll CNN (32-d) beside each clip's 21 note descriptors, averaged over 4
# clips of 32 frames, the whole performance's descriptors beside them, a 32-d head with
# dropout 0.3, Eq. 1's losses; the rounded regression output as the level; AdamW 3e-3
# (weight decay 0.05), cosine over 30 epochs; at most 3 samples per performance per epoch.
# The pipelines decode no frames: notes are transcribed once into the note store
# ($PISA_CACHE_DIR, else ~/.cache/pisa/prepared; `pisa prepare CONFIG --cache-dir DIR`
# fills it ahead of time).
_base_ = [
    '../_base_/datasets/aqa_csv.py',
    '../_base_/models/pisa_notes.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
modalities = ('notes', )
_sampler = dict(type='UniformSampler', num_clips=4, clip_len=32)
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.notes_pipeline}},
                                     clip_sampler=dict(_sampler, max_samples=3)))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.notes_pipeline}},
                                   clip_sampler=_sampler))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.notes_pipeline}},
                                    clip_sampler=_sampler))
model = dict(
    video_backbone=None, video_aggregator=None, audio_backbone=None, audio_aggregator=None,
    fusion=None, fusion_modalities=None, branches=('notes', ), decision_branch='notes',
    notes_backbone=dict(width=8, feature_dim=32),
    head=dict(hidden=32, dropout=0.3),
    decision=dict(type='RegressionLevel'))
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=3e-3, weight_decay=0.05))
train_cfg = dict(max_epochs=30)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, eta_min=1e-5, by_epoch=True)]
calibration = dict(temperature=True, select_decision=False)
