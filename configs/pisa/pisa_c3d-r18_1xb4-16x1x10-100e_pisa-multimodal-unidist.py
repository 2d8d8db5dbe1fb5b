# Table 1, multimodal x uniformly distributed (paper: 74.60 %): C3D + ResNet-18, clip
# features averaged, concatenation fusion without gradient into the backbones, CE + 0.1
# (L1 + L2) in each of the three branches; Adam 1e-4, 100 epochs, batch 4.
_base_ = [
    '../_base_/models/pisa_multimodal.py',
    '../_base_/datasets/pisa_unidist.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
