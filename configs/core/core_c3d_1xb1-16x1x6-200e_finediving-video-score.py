# CoRe on FineDiving with the MTL-AQA setting (FineDiving's dives carry the difficulty):
# exemplars of the same difficulty (any training dive when none shares it), compared on
# the execution score (dive score / difficulty), 10 voters at test time, the mean vote
# times the difficulty; 6 clips of 16 frames (the dataset base). (FineDiving's own
# procedure-aware method picks exemplars by dive number: same=('dive_number', ).)
_base_ = ['../_base_/datasets/finediving.py', '_core_c3d.py']
meta_keys = ('difficulty', )
# the dataset base's pipelines, their packing step told to pack the keys above
pack = dict(type='PackAQAInputs', modalities=('video', ), meta_keys=meta_keys)
train_pipeline = _base_.train_pipeline[:-1] + [pack]
test_pipeline = _base_.test_pipeline[:-1] + [pack]
pairs = dict(type='ExemplarDataset', dataset_type='FineDivingDataset', same=('difficulty', ),
             fallback='any')
train_dataloader = dict(batch_size=1, dataset=dict(pairs, num_exemplars=1, pipeline=train_pipeline))
test_dataloader = dict(batch_size=1, dataset=dict(pairs, num_exemplars=10, pipeline=test_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
