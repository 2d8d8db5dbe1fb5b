# Feature runs on the synthetic dataset that `pisa synth DIR` renders (PISADataset,
# 'video' layout, the unidist scheme, the performer-disjoint split and validation carve of
# synthetic/_synthetic_data.py): clip features extracted once by `pisa extract-features
# CONFIG` from the videos, then trained on by `pisa train CONFIG`.
# The extraction's settings live in `source` (the adapter, its deterministic pipeline and
# clip sampler) and `extractor` (backbone, local weights file, normalisation); together
# they name the feature folder <feature_root>/<key>, so the training reads the features of
# exactly this backbone, these weights and this sampling.
# $PISA_DATA_ROOT (default data/synthetic), $PISA_FEATURE_ROOT (default work_dirs/features),
# $PISA_BACKBONE_WEIGHTS: the backbone's weights, e.g. a C3D pretrained on UCF101
# (configs/pretrain) exported with `pisa export-backbone`.
data_root = '{{$PISA_DATA_ROOT:data/synthetic}}'
feature_root = '{{$PISA_FEATURE_ROOT:work_dirs/features}}'
weights = '{{$PISA_BACKBONE_WEIGHTS:work_dirs/backbones/c3d_ucf101.pth}}'
clip_len = 16
num_clips = 10
frame_size = (112, 112)
modalities = ('video', )

source_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=frame_size),
    dict(type='PackAQAInputs', modalities=modalities),
]
source = dict(
    type='PISADataset',
    data_root=data_root + '/videos',
    table=data_root + '/performances.csv',
    layout='video',
    scheme='unidist',
    split_mode='performer_disjoint',
    test_fraction=0.3,
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len),
    modalities=modalities,
    pipeline=source_pipeline)
extractor = dict(
    modality='video',
    backbone=dict(type='C3D', widths=(64, 128, 256, 256, 256), feature_dim=None,
                  clip_len=clip_len, size=112, dropout=0.0),
    weights=weights,
    weights_prefix=None,
    data_preprocessor=dict(
        type='AQADataPreprocessor', mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]))
feature_pipeline = [
    dict(type='LoadClipFeatures'),
    dict(type='PackFeatureInputs', modality='video'),
]
dataset = dict(
    type='FeatureDataset', source=source, extractor=extractor, feature_root=feature_root,
    val_performances=0.25, pipeline=feature_pipeline)

loader = dict(batch_size=4, num_workers=0, collate_fn=dict(type='default_collate'))
train_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train'))
val_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='val', test_mode=True))
test_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='test', test_mode=True))
val_evaluator = dict(type='LevelMetrics', num_classes=10)
test_evaluator = dict(type='LevelMetrics', num_classes=10)
