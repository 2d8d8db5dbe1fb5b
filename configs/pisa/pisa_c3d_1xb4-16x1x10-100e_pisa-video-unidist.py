# Table 1, video x uniformly distributed (paper: 73.95 %): the visual branch alone (C3D,
# clip features averaged, CE + 0.1 (L1 + L2)); the pipelines read no audio.
_base_ = [
    '../_base_/models/pisa_video.py',
    '../_base_/datasets/pisa_unidist.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
modalities = ('video', )
train_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.video_train_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.video_test_pipeline}}))
test_dataloader = dict(dataset=dict(modalities=modalities, pipeline={{_base_.video_test_pipeline}}))
