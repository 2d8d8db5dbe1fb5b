# USDL on FineDiving: the dive score as a Gaussian (sigma 5 bins) over 101 bins of
# 0..104.5, as on MTL-AQA (the authors' setting, which FineDiving's score range shares);
# 6 clips of 16 frames (the dataset base).
_base_ = [
    '../_base_/datasets/finediving.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
    '_usdl_c3d.py',
]
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
default_hooks = dict(checkpoint=dict(save_best=None))
