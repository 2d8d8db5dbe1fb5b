# Ablation (head + loss): ordinal regression with a cumulative-link (CORAL) head in every
# branch: one shared score and 9 ordered level thresholds, trained with the CORAL loss
# (binary cross-entropy on [level > k], k = 0..8) in place of cross-entropy; its expected
# level is the regression output, trained with L1 + L2 as in Eq. 1.
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
model = dict(
    head=dict(type='OrdinalHead', hidden=128, num_classes=10, dropout=0.0),
    losses=[
        dict(type='CoralLoss', weight=1.0),
        dict(type='L1L2Loss', weight=0.1),
    ])
