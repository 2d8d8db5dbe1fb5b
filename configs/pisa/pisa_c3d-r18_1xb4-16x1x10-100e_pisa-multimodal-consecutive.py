# Table 1, multimodal x contiguous (paper: 61.55 %): as the unidist cell, with each sample
# 160 consecutive frames.
_base_ = [
    '../_base_/models/pisa_multimodal.py',
    '../_base_/datasets/pisa_consecutive.py',
    '../_base_/schedules/adam_1e-4_100e.py',
    '../_base_/default_runtime.py',
]
