# Ablation: audio + notes (no video), fused by concatenation; the pipelines decode no
# frames. Otherwise Table 1's multimodal x unidist setting.
_base_ = [
    '../../_base_/models/pisa_notes.py',
    '../../_base_/datasets/pisa_unidist.py',
    '../../_base_/schedules/adam_1e-4_100e.py',
    '../../_base_/default_runtime.py',
]
model = dict(video_backbone=None, video_aggregator=None, fusion_modalities=('audio', 'notes'),
             branches=('audio', 'notes', 'multimodal'))
modalities = ('audio', 'notes')
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.audio_notes_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.audio_notes_pipeline}}))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.audio_notes_pipeline}}))
