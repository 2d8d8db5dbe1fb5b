# CoRe on MTL-AQA, the authors' setting (github.com/yuxumin/CoRe, MTL_CoRe.yaml,
# usingDD): each dive is compared with a training dive of the same difficulty (another
# dive; a difficulty no other training dive has is paired with itself, as the reference
# code does), on the execution score (final score / difficulty); at test time 10 training
# exemplars of the query's difficulty vote, fixed per dive (ExemplarDataset seed), and the
# mean vote is multiplied back by the difficulty. 10 clips of 16 frames per dive.
# MTL-AQA has no validation split: the last checkpoint is tested.
_base_ = ['../_base_/datasets/mtl_aqa.py', '_core_c3d.py']
num_clips = 10
meta_keys = ('difficulty', )
# the dataset base's pipelines, their packing step told to pack the keys above
pack = dict(type='PackAQAInputs', modalities=('video', ), meta_keys=meta_keys)
train_pipeline = _base_.train_pipeline[:-1] + [pack]
test_pipeline = _base_.test_pipeline[:-1] + [pack]
pairs = dict(type='ExemplarDataset', dataset_type='MTLAQADataset', same=('difficulty', ),
             fallback='self')
train_dataloader = dict(
    batch_size=1,
    dataset=dict(pairs, num_exemplars=1, pipeline=train_pipeline, clip_sampler=dict(num_clips=num_clips)))
test_dataloader = dict(
    batch_size=1,
    dataset=dict(pairs, num_exemplars=10, pipeline=test_pipeline, clip_sampler=dict(num_clips=num_clips)))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_evaluator = dict(type='ScoreMetrics')
