# CoRe on FineDiving as the FineDiving authors ran it with the Kinetics I3D
# (github.com/xujinglin/FineDiving, FineDiving_TSA.yaml, datasets/FineDiving_Pair.py):
# - data: _base_/datasets/finediving_i3d.py (96 frames spread over the dive, 9 clips of
#   16, 200 x 112 frames cropped to 112 x 112);
# - exemplars: a training dive of the same dive number (`action_number_choosing: True`;
#   the dive itself when no other shares it), 10 voters in testing (`voter_number`); the
#   same dive number means the same difficulty, so CoRe's execution-score comparison
#   (final / difficulty, score_range 30: _core_i3d.py) holds;
# - optimiser: Adam 1e-3, backbone 0.1x, no weight decay (`base_lr`, `lr_factor`,
#   `weight_decay`), batches of 8 without accumulation (`bs_train: 8`), 200 epochs;
# - no validation split: the last epoch is tested.
_base_ = ['../_base_/datasets/finediving_i3d.py', '_core_i3d.py']
meta_keys = ('difficulty', )
pack = dict(type='PackAQAInputs', modalities=('video', ), meta_keys=meta_keys)
train_pipeline = _base_.train_pipeline[:-1] + [pack]
test_pipeline = _base_.test_pipeline[:-1] + [pack]
pairs = dict(type='ExemplarDataset', dataset_type='FineDivingDataset', same=('dive_number', ),
             fallback='self')
train_dataloader = dict(batch_size=8, dataset=dict(pairs, num_exemplars=1, pipeline=train_pipeline))
test_dataloader = dict(batch_size=1, dataset=dict(pairs, num_exemplars=10, pipeline=test_pipeline))
optim_wrapper = dict(accumulative_counts=1)
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
