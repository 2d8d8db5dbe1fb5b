# Ablation: video + notes (no audio branch), fused by concatenation; otherwise Table 1's
# multimodal x unidist setting.
_base_ = [
    '../../_base_/models/pisa_notes.py',
    '../../_base_/datasets/pisa_unidist.py',
    '../../_base_/schedules/adam_1e-4_100e.py',
    '../../_base_/default_runtime.py',
]
model = dict(audio_backbone=None, audio_aggregator=None, fusion_modalities=('video', 'notes'),
             branches=('video', 'notes', 'multimodal'))
modalities = ('video', 'notes')
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.video_notes_train_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.video_notes_test_pipeline}}))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.video_notes_test_pipeline}}))
