# FineDiving (score regression, video only): one sample per dive of 6 clips x 16 frames
# over its trimmed frame folder, random clips in training and centre clips in testing,
# 112x112 video. The data root (--data-root or $PISA_DATA_ROOT, default data/finediving)
# holds the frame folders <video name>/<instance>/<frame:05d>.jpg (FINADiving_MTL_256s)
# and Annotations/ with FineDiving_coarse_annotation.pkl,
# FineDiving_fine-grained_annotation.pkl, train_split.pkl and test_split.pkl (another
# folder: dataset.ann_dir). The dataset declares the score range 0..104.5 (ScoreMetrics'
# rl2), AQA-Benchmark's FineDiving label range.
_base_ = ['./_video_score_loaders.py']
data_root = '{{$PISA_DATA_ROOT:data/finediving}}'
cache_dir = None  # a folder written by `pisa prepare` (then no decoding)
num_clips = 6
dataset = dict(type='FineDivingDataset', data_root=data_root, modalities=('video', ),
               cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(dataset, clip_sampler=dict(num_clips=num_clips)))
val_dataloader = dict(dataset=dict(dataset, clip_sampler=dict(num_clips=num_clips)))
test_dataloader = val_dataloader
