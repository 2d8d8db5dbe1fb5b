# USDL on FineDiving with the Kinetics I3D. The FineDiving paper (Xu et al., CVPR 2022)
# reports USDL on FineDiving without publishing that run's settings; this config joins
# the two public parts: FineDiving's own I3D loader (_base_/datasets/finediving_i3d.py: 96
# frames spread over the dive, 9 clips of 16, 200 x 112 frames cropped to 112 x 112) and
# USDL's authors' model and optimiser (github.com/nzl-thu/MUSDL, MTL-AQA/: 101 bins of
# 0..104.5, sigma 5 bins, KL; Adam 1e-4 over the I3D and the evaluator, no weight decay,
# batches of 4, 100 epochs). No validation split: the last epoch is tested.
_base_ = [
    '../_base_/datasets/finediving_i3d.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
    '_usdl_i3d.py',
]
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
default_hooks = dict(checkpoint=dict(save_best=None))
