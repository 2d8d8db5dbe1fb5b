# The loaders every video score-regression dataset base shares: 112x112 video only, a
# random clip sampler and flips in training, centre clips in testing, no validation split
# of its own (the test split validates). A dataset base sets `dataset` (type, data root,
# its own arguments) and merges it, with its clips per sample, into both loaders:
#   train_dataloader = dict(dataset=dict(dataset, clip_sampler=dict(num_clips=num_clips)))
#   val_dataloader = dict(dataset=dict(dataset, clip_sampler=dict(num_clips=num_clips)))
#   test_dataloader = val_dataloader
num_clips = 1
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
train_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(split='train', pipeline=train_pipeline,
                 clip_sampler=dict(type='RandomClipSampler', num_clips=num_clips, clip_len=clip_len)))
val_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='test', pipeline=test_pipeline, test_mode=True,
                 clip_sampler=dict(type='CenterClipSampler', num_clips=num_clips, clip_len=clip_len)))
test_dataloader = val_dataloader
