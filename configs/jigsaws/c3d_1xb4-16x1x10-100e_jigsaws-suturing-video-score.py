# JIGSAWS Suturing, GRS regression (6..30): the PISA visual branch (C3D, one sample of 10
# clips x 16 frames per trial) with a regression-only head (num_classes=0) trained with
# L1 + L2 on the GRS. Fold 0 of 4 folds grouped by user; `pisa train CONFIG --folds 4`
# runs all four (summary.json: the mean over folds, MUSDL's average, and the pooled
# out-of-fold metrics). Test metrics: Spearman's rho and relative L2 with the declared
# range 6..30.
# There is no validation split, so nothing is selected: the last checkpoint is tested,
# and no validation loop looks at the test split during training.
_base_ = [
    '../_base_/models/pisa_video.py',
    '../_base_/datasets/jigsaws.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
model = dict(
    head=dict(num_classes=0),
    losses=[dict(type='L1L2Loss', weight=1.0)])
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
default_hooks = dict(checkpoint=dict(save_best=None))
