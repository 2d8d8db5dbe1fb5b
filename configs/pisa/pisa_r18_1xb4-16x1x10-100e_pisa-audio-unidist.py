# Table 1, audio x uniformly distributed (paper: 64.50 %): the aural branch alone
# (ResNet-18 on one 224x224 mel image per clip, averaged, CE + 0.1 (L1 + L2)); the
# pipelines decode no frames.
_base_ = [
    '../_base_/models/pisa_audio.py',
    '../_base_/datasets/pisa_unidist.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
modalities = ('audio', )
train_pipeline = [
    dict(type='LoadAudio', sample_rate=22050),
    dict(type='MelSpectrogram', size=(224, 224)),
    dict(type='PackAQAInputs', modalities=modalities),
]
test_pipeline = train_pipeline
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline=test_pipeline))
val_evaluator = dict(type='LevelMetrics', num_classes=10)
test_evaluator = dict(type='LevelMetrics', num_classes=10)
