# USDL on MTL-AQA, the authors' setting (github.com/nzl-thu/MUSDL, MTL-AQA/): the final
# score as a Gaussian over 101 bins of 0..104.5 (sigma 5 bins), KL divergence, argmax
# decoding; 10 clips of 16 frames per dive, features averaged; Adam 1e-4 without weight
# decay, batch 4, 100 epochs. The backbone is the framework's C3D, not the authors'
# Kinetics I3D. MTL-AQA has no validation split: the last checkpoint is tested.
_base_ = [
    '../_base_/datasets/mtl_aqa.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
    '_usdl_c3d.py',
]
num_clips = 10
train_dataloader = dict(dataset=dict(clip_sampler=dict(num_clips=num_clips)))
test_dataloader = dict(dataset=dict(clip_sampler=dict(num_clips=num_clips)))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
default_hooks = dict(checkpoint=dict(save_best=None))
