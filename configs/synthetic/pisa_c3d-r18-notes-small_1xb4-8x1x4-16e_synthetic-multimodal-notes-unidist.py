# The CPU demo's PISA model (pisa_c3d-r18-small_...) with the notes branch beside video
# and audio (pisa-transcription plugin), the three fused by concatenation; the notes
# branch as in the demo's notes model (PianoRollEncoder at width 8, 64-d; clip and
# performance descriptors). Same data, split, schedule and calibration as the demo.
_base_ = ['pisa_c3d-r18-small_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py']
required_plugins = ['pisa-transcription']
modalities = ('video', 'audio', 'notes')
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.all_train_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.all_test_pipeline}}))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.all_test_pipeline}}))
model = dict(
    notes_backbone=dict(type='PianoRollEncoder', in_channels=3, width=8, feature_dim=64),
    notes_aggregator=dict(type='AvgAggregator'),
    extra_features=dict(notes=dict(clip=21, sample=21)),
    fusion_modalities=('video', 'audio', 'notes'),
    branches=('video', 'audio', 'notes', 'multimodal'))
