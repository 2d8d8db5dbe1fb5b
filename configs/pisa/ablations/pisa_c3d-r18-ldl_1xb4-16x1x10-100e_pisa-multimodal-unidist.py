# Ablation (loss): an ordinal loss, label-distribution learning (KL to a Gaussian of
# width 1 level around the true level), in place of cross-entropy; L1 + L2 kept.
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
model = dict(losses=[
    dict(type='LabelDistributionLoss', weight=1.0, sigma=1.0),
    dict(type='L1L2Loss', weight=0.1),
])
