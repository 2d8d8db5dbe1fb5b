# Rhythmic Gymnastics clip features in the layout released with GDLT (RGFeatureDataset;
# pisa/data/adapters/rg_fisv.py): <data_root>/swintx_avg_fps25_clip32/<Apparatus>_<n>.npy (one
# 1024-d Video Swin feature per 32-frame clip at 25 fps) and <data_root>/{train,test}.txt.
# One apparatus per run (`action_type`), the target Total_Score / 25 as GDLT trains it.
# Training: a random window of 68 clips (zero-padded when shorter), batches of 32, as GDLT;
# validation and test: whole routines one at a time. GDLT chose its epoch on the test
# split; here 20 % of the training routines are carved out for that (`--protocol
# test-selected` reproduces GDLT's choice).
# $PISA_DATA_ROOT (default data/rg).
data_root = '{{$PISA_DATA_ROOT:data/rg}}'
action_type = 'Ball'
clip_num = 68
dataset = dict(
    type='RGFeatureDataset', data_root=data_root, feature_dir='swintx_avg_fps25_clip32',
    train_list='train.txt', test_list='test.txt', action_type=action_type,
    score_type='Total_Score', score_scale=25.0, val_performances=0.2)
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
