# CoRe on AQA-7, one action (diving), the authors' setting (github.com/yuxumin/CoRe,
# Seven_CoRe.yaml): the action's scores mapped from its range (21.6..102.6) to 0..100,
# exemplars any other training sample of the action, no difficulty; 10 voters at test
# time; batch 2 with gradients accumulated over 2 steps; 6 clips of 16 frames (the
# dataset base). Another action: set `action` in both dataloaders and model.score_bounds.
_base_ = ['../_base_/datasets/aqa7.py', '_core_c3d.py']
pairs = dict(type='ExemplarDataset', dataset_type='AQA7Dataset', action='diving')
train_dataloader = dict(batch_size=2, dataset=dict(pairs, num_exemplars=1))
test_dataloader = dict(batch_size=1, dataset=dict(pairs, num_exemplars=10))
model = dict(score_range=100.0, divide_by=None, score_bounds=(21.6, 102.6))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
