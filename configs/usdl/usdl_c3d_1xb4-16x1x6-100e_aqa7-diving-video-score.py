# USDL on AQA-7, one action (diving; its score range 21.6..102.6 is CoRe's misc.normalize
# table): the score as a Gaussian (sigma 5 bins) over 101 bins of that range, KL
# divergence, argmax decoding; 6 clips of 16 frames (the dataset base). The authors
# released no AQA-7 code; their MTL-AQA setting is kept otherwise. Another action: set
# `action` in both dataloaders and its range in the head and the loss.
_base_ = [
    '../_base_/datasets/aqa7.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
    '_usdl_c3d.py',
]
score_min, score_max = 21.6, 102.6
train_dataloader = dict(dataset=dict(action='diving'))
test_dataloader = dict(dataset=dict(action='diving'))
model = dict(
    head=dict(score_min=score_min, score_max=score_max),
    losses=[dict(type='USDLLoss', score_min=score_min, score_max=score_max, sigma=5.0)])
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
default_hooks = dict(checkpoint=dict(save_best=None))
