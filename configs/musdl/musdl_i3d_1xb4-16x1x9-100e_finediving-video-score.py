# MUSDL on FineDiving with the Kinetics I3D: the USDL FineDiving I3D config (FineDiving's
# loader, the MUSDL authors' optimiser; the FineDiving paper reports MUSDL there without
# publishing the run's settings) with MUSDL's head: one MLP and one Gaussian (sigma 5
# bins) over 21 bins of 0..10 per judge (7 judges), the summed per-judge KL divergence,
# the middle three judges' argmax scores summed times the difficulty; weight decay 1e-5
# (github.com/nzl-thu/MUSDL, MTL-AQA/run.sh). FineDiving's records carry the judges'
# scores and the difficulty (FineDivingDataset).
_base_ = ['../usdl/usdl_i3d_1xb4-16x1x9-100e_finediving-video-score.py', '_musdl_diving.py']
pack = dict(type='PackAQAInputs', modalities=('video', ), meta_keys=_base_.musdl_meta_keys)
train_pipeline = _base_.train_pipeline[:-1] + [pack]
test_pipeline = _base_.test_pipeline[:-1] + [pack]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = _base_.musdl_model
optim_wrapper = _base_.musdl_optim_wrapper
