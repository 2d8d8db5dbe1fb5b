# USDL on JIGSAWS Suturing, the authors' setting (github.com/nzl-thu/MUSDL, JIGSAWS/): the
# GRS as a Gaussian (sigma 1) over its 25 values 6..30, KL divergence, argmax decoding;
# Adam 1e-4 without weight decay, batch 4, 80 epochs; 10 clips of 16 frames (the dataset
# base; the authors spread 160 frames over the trial). Fold 0 of the base's user-grouped
# folds; `pisa train CONFIG --folds 4` runs all four.
_base_ = [
    '../_base_/datasets/jigsaws.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
    '_usdl_c3d.py',
]
model = dict(
    head=dict(num_bins=25, score_min=6.0, score_max=30.0),
    losses=[dict(type='USDLLoss', score_min=6.0, score_max=30.0, sigma=1.0)])
train_cfg = dict(max_epochs=80)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
default_hooks = dict(checkpoint=dict(save_best=None))
