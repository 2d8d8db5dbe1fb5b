# AQA-7 (score regression, video only): one sample per dive or jump of 6 clips x 16
# frames over its frame folder, random clips in training and centre clips in testing,
# 112x112 video. The data root (--data-root or $PISA_DATA_ROOT, default data/aqa7) holds
# <action>-out/<NNN>/img_*.jpg and Split_4/split_4_{train,test}_list.mat, as CoRe reads
# them. action='all' trains on the six actions together; one action:
# --cfg-options train_dataloader.dataset.action=diving test_dataloader.dataset.action=diving
# The dataset declares each action's score range (ScoreMetrics' rl2) and its actions
# (per-action rho and their Fisher-z average).
data_root = '{{$PISA_DATA_ROOT:data/aqa7}}'
cache_dir = None  # a folder written by `pisa prepare` (then no decoding)
num_clips = 6
clip_len = 16

train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(112, 112)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackAQAInputs', modalities=('video', )),
]
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(112, 112)),
    dict(type='PackAQAInputs', modalities=('video', )),
]

loader = dict(batch_size=4, num_workers=2, collate_fn=dict(type='default_collate'))
dataset = dict(type='AQA7Dataset', data_root=data_root, action='all', modalities=('video', ),
               cache_dir=cache_dir)
train_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train', pipeline=train_pipeline,
                 clip_sampler=dict(type='RandomClipSampler', num_clips=num_clips, clip_len=clip_len)))
val_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='test', pipeline=test_pipeline, test_mode=True,
                 clip_sampler=dict(type='CenterClipSampler', num_clips=num_clips, clip_len=clip_len)))
test_dataloader = val_dataloader
