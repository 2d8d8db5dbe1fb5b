# MTL-AQA diving (score regression, video only): one sample per dive of 1 clip x 16
# frames, a random clip in training and the centre clip in testing, 112x112 video.
# $MTL_AQA_DATA_ROOT (default data/mtl_aqa): <video_no:02d>.mp4 and the annotation
# pickles final_annotations_dict.pkl, train_split_0.pkl, test_split_0.pkl.
data_root = '{{$MTL_AQA_DATA_ROOT:data/mtl_aqa}}'
cache_dir = None  # a folder written by `pisa prepare` (then no decoding)
dataset_type = 'MTLAQADataset'

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
dataset = dict(type=dataset_type, data_root=data_root, modalities=('video', ),
               cache_dir=cache_dir)
train_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train', pipeline=train_pipeline,
                 clip_sampler=dict(type='RandomClipSampler', num_clips=1, clip_len=16)))
val_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='test', pipeline=test_pipeline, test_mode=True,
                 clip_sampler=dict(type='CenterClipSampler', num_clips=1, clip_len=16)))
test_dataloader = val_dataloader
