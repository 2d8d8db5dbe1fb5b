# GDLT on your own recordings, from GDLT-style features made here. `pisa extract-features
# CONFIG` runs torchvision's Swin3D-B (pisa-torchvision-video plugin; 1024-d, the
# Kinetics-400 weights file torchvision publishes, saved once with torch.save and named by
# $PISA_BACKBONE_WEIGHTS) over every non-overlapping 32-frame clip of each recording
# (AllClipsSampler: GDLT's rg_swintx.py, head and tail dropped evenly), frames resized and
# centre-cropped to 224 x 224 and normalised as the weights' recipe says
# (Swin3D_B_Weights.KINETICS400_V1: short side 256, crop 224, ImageNet mean/std;
# resize=(256, 455) is the short side 256 of a 16:9 source: set it for other shapes).
# `pisa train CONFIG` then trains GDLT's head with its Rhythmic Gymnastics (Ball) settings
# (_base_/models/gdlt.py; SGD 1e-2 cosine to 1 %, 250 epochs; windows of 68 clips, batches
# of 32). GDLT scores in 0..1 (it trains on Total_Score / 25): give `target` in that range.
# The recordings: the one-CSV route (task 'score'), $AQA_ANN_FILE; features under
# $PISA_FEATURE_ROOT. (GDLT's own features came from mmaction's Video Swin-B on Kinetics-600.)
_base_ = [
    '../_base_/models/gdlt.py',
    '../_base_/schedules/sgd_1e-2_cos.py',
    '../_base_/default_runtime.py',
]
required_plugins = ['pisa-torchvision-video']
ann_file = '{{$AQA_ANN_FILE:data/aqa/annotations.csv}}'
feature_root = '{{$PISA_FEATURE_ROOT:work_dirs/features}}'
source = dict(
    type='AQACSVDataset', ann_file=ann_file, task='score', modalities=('video', ),
    clip_sampler=dict(type='AllClipsSampler', clip_len=32),
    pipeline=[
        dict(type='DecodeFrames'),
        dict(type='CropResize', size=(224, 224), resize=(256, 455)),
        dict(type='PackAQAInputs', modalities=('video', )),
    ])
extractor = dict(
    modality='video',
    backbone=dict(type='TorchvisionSwin3DB'),
    weights='{{$PISA_BACKBONE_WEIGHTS:work_dirs/backbones/swin3d_b_k400.pth}}',
    weights_prefix=None,
    data_preprocessor=dict(type='AQADataPreprocessor', mean=[0.485, 0.456, 0.406],
                           std=[0.229, 0.224, 0.225]))
dataset = dict(type='FeatureDataset', source=source, extractor=extractor,
               feature_root=feature_root, val_performances=0.2)
train_pipeline = [
    dict(type='LoadClipFeatures'),
    dict(type='RandomClipWindow', clip_num=68),
    dict(type='PackFeatureInputs', modality='video'),
]
test_pipeline = [dict(type='LoadClipFeatures'), dict(type='PackFeatureInputs', modality='video')]
collate = dict(collate_fn=dict(type='default_collate'), num_workers=0)
train_dataloader = dict(
    collate, batch_size=32, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    collate, batch_size=1, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='val', pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    collate, batch_size=1, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='test', pipeline=test_pipeline, test_mode=True))
# the score range GDLT's head predicts in (relative L2 divides by it)
val_evaluator = dict(type='ScoreMetrics', score_range=(0.0, 1.0))
test_evaluator = val_evaluator
default_hooks = dict(checkpoint=dict(save_best='spearman', rule='greater'))
# the classical-feature baseline reads the source's media through its own pipeline
baselines = [dict(type='MajorityBaseline')]
