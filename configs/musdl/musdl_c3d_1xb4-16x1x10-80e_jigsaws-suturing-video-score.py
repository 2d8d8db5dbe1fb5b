# MUSDL on JIGSAWS Suturing, the authors' setting (github.com/nzl-thu/MUSDL, JIGSAWS/):
# the six GRS items as six "judges", each a Gaussian (sigma 1) over its 5 values 1..5
# from its own MLP, the summed KL divergences; the prediction is the sum of the six
# items' argmax values (nothing dropped, no difficulty). Adam 1e-4, batch 4, 80 epochs.
_base_ = ['../usdl/usdl_c3d_1xb4-16x1x10-80e_jigsaws-suturing-video-score.py']
meta_keys = ('grs_items', )
# the dataset base's pipelines, their packing step told to pack the keys above
pack = dict(type='PackAQAInputs', modalities=('video', ), meta_keys=meta_keys)
train_pipeline = _base_.train_pipeline[:-1] + [pack]
test_pipeline = _base_.test_pipeline[:-1] + [pack]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = dict(
    target_keys=('grs_items', ),
    head=dict(_delete_=True, type='MUSDLHead', num_judges=6, num_bins=5, judge_min=1.0,
              judge_max=5.0, hidden=(256, 128), drop_extremes=0),
    losses=[dict(type='MUSDLLoss', num_judges=6, judge_min=1.0, judge_max=5.0, sigma=1.0,
                 judge_key='grs_items')])
