# The CPU demo with level-balanced training batches (see
# ../pisa/ablations/pisa_c3d-r18-balanced_1xb4-16x1x10-100e_pisa-multimodal-unidist.py).
_base_ = ['pisa_c3d-r18-small_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py']
train_dataloader = dict(
    sampler=dict(type='ClassBalancedSampler', shuffle=True, round_up=True, by='performance'))
