# FineDiving (score regression, video only): one sample per dive of 6 clips x 16 frames
# over its trimmed frame folder, random clips in training and centre clips in testing,
# 112x112 video. The data root (--data-root or $PISA_DATA_ROOT, default data/finediving)
# holds the frame folders <video name>/<instance>/<frame:05d>.jpg (FINADiving_MTL_256s)
# and Annotations/ with FineDiving_coarse_annotation.pkl,
# FineDiving_fine-grained_annotation.pkl, train_split.pkl and test_split.pkl (another
# folder: dataset.ann_dir). The dataset declares the score range 0..104.5 (ScoreMetrics'
# rl2), AQA-Benchmark's FineDiving label range.
data_root = '{{$PISA_DATA_ROOT:data/finediving}}'
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
dataset = dict(type='FineDivingDataset', data_root=data_root, modalities=('video', ),
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
