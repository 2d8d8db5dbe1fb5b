# MUSDL on MTL-AQA in its authors' setting, with the Kinetics I3D (github.com/nzl-thu/MUSDL,
# MTL-AQA/): the USDL I3D config's frames, pixels, batches and epochs, with one MLP and one
# Gaussian (sigma 5 bins) over 21 bins of 0..10 per judge (7 judges), the summed
# per-judge KL divergence, the prediction by the diving rule (the middle three judges'
# argmax scores summed, times the difficulty); Adam 1e-4 with weight decay 1e-5 (run.sh
# `--type MUSDL --lr 1e-4 --weight_decay 1e-5`). The judges' scores are in the release's
# augmented annotation file (MTL-AQA/data/info/augmented_final_annotations_dict.pkl).
_base_ = ['../usdl/usdl_i3d_1xb4-16x1x10-100e_mtl-aqa-video-score.py', '_musdl_diving.py']
pack = dict(type='PackAQAInputs', modalities=('video', ), meta_keys=_base_.musdl_meta_keys)
train_pipeline = _base_.train_pipeline[:-1] + [pack]
test_pipeline = _base_.test_pipeline[:-1] + [pack]
annotations = dict(annotation_file='augmented_final_annotations_dict.pkl')
train_dataloader = dict(dataset=dict(annotations, pipeline=train_pipeline))
test_dataloader = dict(dataset=dict(annotations, pipeline=test_pipeline))
model = _base_.musdl_model
optim_wrapper = _base_.musdl_optim_wrapper
