# MUSDL on MTL-AQA, the authors' setting (github.com/nzl-thu/MUSDL, MTL-AQA/): one MLP
# and one Gaussian (sigma 5 bins) over 21 bins of 0..10 per judge (7 judges), the summed
# per-judge KL divergence; the prediction is the diving rule: the judges' argmax scores
# sorted, the middle three summed, times the dive's difficulty. Adam 1e-4 with weight
# decay 1e-5. The judges' scores are in the augmented annotation file of the MUSDL
# release (MTL-AQA/data/info/augmented_final_annotations_dict.pkl, in ann_dir).
_base_ = ['../usdl/usdl_c3d_1xb4-16x1x10-100e_mtl-aqa-video-score.py', '_musdl_diving.py']
# the dataset base's pipelines, their packing step told to pack the keys above
pack = dict(type='PackAQAInputs', modalities=('video', ), meta_keys=_base_.musdl_meta_keys)
train_pipeline = _base_.train_pipeline[:-1] + [pack]
test_pipeline = _base_.test_pipeline[:-1] + [pack]
annotations = dict(annotation_file='augmented_final_annotations_dict.pkl')
train_dataloader = dict(dataset=dict(annotations, pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(annotations, pipeline=test_pipeline))
model = _base_.musdl_model
optim_wrapper = _base_.musdl_optim_wrapper
