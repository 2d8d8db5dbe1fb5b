# PISA with uniformly distributed sampling (the released "unidist" annotations): each
# sample is 10 clips x 16 frames dealt out over the whole performance; video cropped with
# the table's box and resized to 112x112; audio at 22.05 kHz as one 224x224 mel image per
# clip (n_fft 2048, hop 512, 128 mels, 20-8300 Hz, top_db 80). The released 37/24 split,
# with a validation split of 5 training performances carved out (no performance on both
# sides) for choosing the checkpoint; the test split is only tested. Media under
# $PISA_DATA_ROOT (default data/pisa): <id>.mp4 (layout='video') or the authors' frame
# folders (layout='frames'). Set cache_dir to read a cache written by `pisa prepare`.
data_root = '{{$PISA_DATA_ROOT:data/pisa}}'
cache_dir = None  # a folder written by `pisa prepare` (then no decoding)
dataset_type = 'PISADataset'
layout = 'video'
scheme = 'unidist'
sampler = dict(type='UniformSampler', num_clips=10, clip_len=16)
val_performances = 5  # carved from the released train split, seeded by split_seed

train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(112, 112)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadAudio', sample_rate=22050),
    dict(type='MelSpectrogram', size=(224, 224)),
    dict(type='PackAQAInputs', modalities=('video', 'audio')),
]
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(112, 112)),
    dict(type='LoadAudio', sample_rate=22050),
    dict(type='MelSpectrogram', size=(224, 224)),
    dict(type='PackAQAInputs', modalities=('video', 'audio')),
]

train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    collate_fn=dict(type='default_collate'),
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, layout=layout, scheme=scheme,
        sampler=sampler, split='train', label='player', cache_dir=cache_dir,
        val_performances=val_performances, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4,
    num_workers=2,
    collate_fn=dict(type='default_collate'),
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, layout=layout, scheme=scheme,
        sampler=sampler, split='val', label='player', cache_dir=cache_dir,
        val_performances=val_performances, pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=4,
    num_workers=2,
    collate_fn=dict(type='default_collate'),
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, layout=layout, scheme=scheme,
        sampler=sampler, split='test', label='player', cache_dir=cache_dir,
        pipeline=test_pipeline, test_mode=True))
