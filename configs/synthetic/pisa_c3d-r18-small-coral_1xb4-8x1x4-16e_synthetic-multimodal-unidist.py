# The CPU demo model with the cumulative-link (CORAL) head and loss in every branch (see
# ../pisa/ablations/pisa_c3d-r18-coral_1xb4-16x1x10-100e_pisa-multimodal-unidist.py).
_base_ = ['pisa_c3d-r18-small_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py']
model = dict(
    head=dict(type='OrdinalHead', hidden=128, num_classes=10, dropout=0.0),
    losses=[
        dict(type='CoralLoss', weight=1.0),
        dict(type='L1L2Loss', weight=0.1),
    ])
