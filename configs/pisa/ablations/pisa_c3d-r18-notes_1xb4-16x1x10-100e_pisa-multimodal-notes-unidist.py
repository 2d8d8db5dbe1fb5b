# Ablation: the multimodal PISA model with a notes branch (video + audio + notes), the
# three fused by concatenation; otherwise Table 1's multimodal x unidist setting.
_base_ = [
    '../../_base_/models/pisa_notes.py',
    '../../_base_/datasets/pisa_unidist.py',
    '../../_base_/schedules/adam_1e-4_100e.py',
    '../../_base_/default_runtime.py',
]
modalities = ('video', 'audio', 'notes')
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.all_train_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.all_test_pipeline}}))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.all_test_pipeline}}))
