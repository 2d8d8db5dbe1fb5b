# Fis-V figure-skating clip features in the layout released with GDLT (FisVFeatureDataset;
# pisa/data/adapters/rg_fisv.py): <data_root>/swintx_avg_fps25_clip32/<id>.npy (1024-d Video Swin
# features of 32-frame clips) and <data_root>/{train,test}.txt rows `<id> <TES> <PCS> ...`.
# TES or PCS per run (`score_type`), divided by 45 (as PAMFN reads these files). Training
# windows of 124 clips, batches of 32; whole programs one at a time in validation and test;
# 20 % of the training programs carved out to choose the epoch.
# $PISA_DATA_ROOT (default data/fisv).
data_root = '{{$PISA_DATA_ROOT:data/fisv}}'
score_type = 'TES'
clip_num = 124
dataset = dict(
    type='FisVFeatureDataset', data_root=data_root, feature_dir='swintx_avg_fps25_clip32',
    train_list='train.txt', test_list='test.txt', score_type=score_type, score_scale=45.0,
    val_performances=0.2)
train_pipeline = [
    dict(type='LoadClipFeatures'),
    dict(type='RandomClipWindow', clip_num=clip_num),
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
val_evaluator = dict(type='ScoreMetrics')
test_evaluator = dict(type='ScoreMetrics')
