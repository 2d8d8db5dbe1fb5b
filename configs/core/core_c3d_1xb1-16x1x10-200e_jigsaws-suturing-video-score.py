# CoRe on JIGSAWS Suturing (the authors released no JIGSAWS setting): the GRS mapped from
# 6..30 to 0..100 as CoRe does for AQA-7, exemplars any other training trial of the fold,
# 10 voters at test time; 10 clips of 16 frames (the dataset base). Fold 0 of the base's
# user-grouped folds (the exemplars come from the other folds); `--folds 4` runs all four.
_base_ = ['../_base_/datasets/jigsaws.py', '_core_c3d.py']
pairs = dict(type='ExemplarDataset', dataset_type='JIGSAWSDataset')
train_dataloader = dict(batch_size=1, dataset=dict(pairs, num_exemplars=1))
test_dataloader = dict(batch_size=1, dataset=dict(pairs, num_exemplars=10))
model = dict(score_range=100.0, divide_by=None, score_bounds=(6.0, 30.0))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
