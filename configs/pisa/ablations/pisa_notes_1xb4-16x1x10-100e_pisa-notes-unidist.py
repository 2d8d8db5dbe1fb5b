# Ablation: the notes branch alone (piano roll encoder + clip and performance note
# descriptors); the pipelines decode no frames. Otherwise Table 1's unidist setting.
_base_ = [
    '../../_base_/models/pisa_notes.py',
    '../../_base_/datasets/pisa_unidist.py',
    '../../_base_/schedules/adam_1e-4_100e.py',
    '../../_base_/default_runtime.py',
]
model = dict(video_backbone=None, video_aggregator=None, audio_backbone=None,
             audio_aggregator=None, fusion=None, fusion_modalities=None, branches=('notes', ),
             decision_branch='notes')
modalities = ('notes', )
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.notes_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.notes_pipeline}}))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.notes_pipeline}}))
