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
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.audio_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.audio_pipeline}}))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.audio_pipeline}}))
