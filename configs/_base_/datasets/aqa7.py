# AQA-7 (score regression, video only): one sample per dive or jump of 6 clips x 16
# frames over its frame folder, random clips in training and centre clips in testing,
# 112x112 video. The data root (--data-root or $PISA_DATA_ROOT, default data/aqa7) holds
# <action>-out/<NNN>/img_*.jpg and Split_4/split_4_{train,test}_list.mat, as CoRe reads
# them. action='all' trains on the six actions together; one action:
# --cfg-options train_dataloader.dataset.action=diving test_dataloader.dataset.action=diving
# The dataset declares each action's score range (ScoreMetrics' rl2) and its actions
# (per-action rho and their Fisher-z average).
_base_ = ['./_video_score_loaders.py']
data_root = '{{$PISA_DATA_ROOT:data/aqa7}}'
cache_dir = None  # a folder written by `pisa prepare` (then no decoding)
num_clips = 6
dataset = dict(type='AQA7Dataset', data_root=data_root, action='all', modalities=('video', ),
               cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(dataset, clip_sampler=dict(num_clips=num_clips)))
val_dataloader = dict(dataset=dict(dataset, clip_sampler=dict(num_clips=num_clips)))
test_dataloader = val_dataloader
