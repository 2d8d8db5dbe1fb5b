# MUSDL on FineDiving: the MTL-AQA setting of the authors (github.com/nzl-thu/MUSDL,
# MTL-AQA/; they did not run FineDiving): one MLP and one Gaussian (sigma 5 bins) over 21
# bins of 0..10 per judge (7 judges), the summed per-judge KL divergence; the prediction
# is the diving rule, the middle three of the judges' sorted argmax scores summed, times
# the dive's difficulty. FineDiving's records carry the judges' scores (`judge_scores`,
# FineDivingDataset) and the difficulty; a dive with another number of judges is an error
# naming the shape. 6 clips of 16 frames (the dataset base).
_base_ = ['../usdl/usdl_c3d_1xb4-16x1x6-100e_finediving-video-score.py', '_musdl_diving.py']
# the dataset base's pipelines, their packing step told to pack the judges and difficulty
pack = dict(type='PackAQAInputs', modalities=('video', ), meta_keys=_base_.musdl_meta_keys)
train_pipeline = _base_.train_pipeline[:-1] + [pack]
test_pipeline = _base_.test_pipeline[:-1] + [pack]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
model = _base_.musdl_model
optim_wrapper = _base_.musdl_optim_wrapper
