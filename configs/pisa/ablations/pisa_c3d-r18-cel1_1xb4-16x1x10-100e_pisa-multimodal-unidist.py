# Ablation (loss): cross-entropy + L1 only, the squared (L2) part of the distance term
# dropped (Eq. 1 with L_Reg = L1 instead of L1 + L2; weights as in the paper).
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
model = dict(losses=[
    dict(type='CrossEntropyLoss', weight=1.0),
    dict(type='L1L2Loss', weight=0.1, l1=1.0, l2=0.0),
])
