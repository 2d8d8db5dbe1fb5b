# The notes' feature track (pisa-transcription plugin): the piano-roll encoder of a trained
# notes model (e.g. the demo's, configs/synthetic/pisa_notes-small_...) run once over every
# clip of every performance, then a sequence head trained on the clip features alone.
#   pisa extract-features CONFIG   (weights: $PISA_BACKBONE_WEIGHTS, the notes model's
#                                   checkpoint; its notes_backbone. tensors are read)
#   pisa train CONFIG
# Source: the demo's synthetic dataset and split, 4 clips of 32 frames (about 1 s) per
# sample, each clip's piano roll 3 x 88 x 32 from the note store; the encoder as in the
# demo's notes model (32-d). Model: a temporal convolution over the clip sequence
# (TemporalConvHead, 32-d), 10 levels and a regression value, CE x 1 + (L1 + L2) x 0.1;
# Adam 1e-3, 30 epochs. On the demo's data (2026-12-05, seed 0, the encoder of the notes
# model's seed-0 run) it reached test accuracy 0.20 and MAE 2.88 levels: the encoder's
# features alone, without the note descriptors the notes model reads beside them, carry
# little of the level. The route is here for sequence heads; the notes model is the one
# to use.
_base_ = [
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
required_plugins = ['pisa-transcription']
data_root = '{{$PISA_DATA_ROOT:data/synthetic}}'
feature_root = '{{$PISA_FEATURE_ROOT:work_dirs/features}}'
weights = '{{$PISA_BACKBONE_WEIGHTS:work_dirs/demo_notes/best.pth}}'
modalities = ('notes', )
source = dict(
    type='PISADataset',
    data_root=data_root + '/videos',
    table=data_root + '/performances.csv',
    layout='video',
    scheme='unidist',
    split_mode='released',
    modalities=modalities,
    clip_sampler=dict(type='UniformSampler', num_clips=4, clip_len=32),
    pipeline=[dict(type='LoadNotes', transcriber=dict(type='BasicPitchTranscriber')),
              dict(type='PianoRoll', width=32),
              dict(type='PackAQAInputs', modalities=modalities)])
extractor = dict(
    modality='notes',
    backbone=dict(type='PianoRollEncoder', in_channels=3, width=8, feature_dim=32),
    weights=weights,
    weights_prefix='notes_backbone.',
    data_preprocessor=dict(type='AQADataPreprocessor'))
dataset = dict(
    type='FeatureDataset', source=source, extractor=extractor, feature_root=feature_root,
    val_performances=0.15,
    pipeline=[dict(type='LoadClipFeatures'), dict(type='PackFeatureInputs', modality='notes')])
loader = dict(batch_size=4, num_workers=0, collate_fn=dict(type='default_collate'))
train_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(dataset, split='train'))
val_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(dataset, split='val', test_mode=True))
test_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=False),
                       dataset=dict(dataset, split='test', test_mode=True))
val_evaluator = dict(type='LevelMetrics', num_classes=10)
test_evaluator = dict(type='LevelMetrics', num_classes=10)
model = dict(
    type='FeatureAQAModel',
    in_features=dict(notes=32),
    sequence_head=dict(type='TemporalConvHead', hidden=32, num_classes=10),
    losses=[dict(type='CrossEntropyLoss', weight=1.0), dict(type='L1L2Loss', weight=0.1)],
    branches=('notes', ),
    decision_branch='notes')
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=30)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=30, eta_min=1e-5, by_epoch=True)]
