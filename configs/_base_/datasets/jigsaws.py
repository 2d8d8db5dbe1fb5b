# JIGSAWS (GRS regression, video only): one sample per trial of 10 clips x 16 frames, a
# random clip from each tenth of the trial in training and its centre clip in testing,
# 112x112 video of the left camera. The data root (--data-root or $PISA_DATA_ROOT,
# default data/jigsaws) holds the task folders <Task>/meta_file_<Task>.txt and
# <Task>/video/<Task>_<U><NNN>_capture1.avi. JIGSAWS has no test split of its own: 4
# folds grouped by user (no surgeon in two folds' test parts), fold 0 here;
# `pisa train CONFIG --folds 4` runs all four. MUSDL's released (not user-disjoint) folds:
# --cfg-options {train,test}_dataloader.dataset.split_file=<MUSDL>/JIGSAWS/data/info/splits.pkl
# Other tasks: {train,test}_dataloader.dataset.task=Knot_Tying (or Needle_Passing).
_base_ = ['./_video_score_loaders.py']
data_root = '{{$PISA_DATA_ROOT:data/jigsaws}}'
cache_dir = None  # a folder written by `pisa prepare` (then no decoding)
task = 'Suturing'
num_clips = 10
dataset = dict(type='JIGSAWSDataset', data_root=data_root, task=task, folds=4, fold=0,
               modalities=('video', ), cache_dir=cache_dir)
train_dataloader = dict(dataset=dict(dataset, clip_sampler=dict(num_clips=num_clips)))
val_dataloader = dict(dataset=dict(dataset, clip_sampler=dict(num_clips=num_clips)))
test_dataloader = val_dataloader
