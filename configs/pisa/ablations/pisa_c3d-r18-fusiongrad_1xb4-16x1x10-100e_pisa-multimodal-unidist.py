# Ablation (fusion): the multimodal branch back-propagates into both backbones
# (the paper stops it to avoid cross-modality contamination).
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
model = dict(fusion=dict(detach=False))
