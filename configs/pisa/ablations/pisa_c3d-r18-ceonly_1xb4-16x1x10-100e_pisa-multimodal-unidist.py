# Ablation (loss): cross-entropy only, no L1 + L2 distance term (Eq. 1 with
# alpha_2 = beta_2 = gamma_2 = 0).
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
model = dict(losses=[dict(type='CrossEntropyLoss', weight=1.0)])
