# Ablation (sampling of the training set): level-balanced batches. Each epoch draws as many
# training samples as the split has, with replacement, every level equally often and,
# within a level, every performance equally often (long performances do not dominate).
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
train_dataloader = dict(
    sampler=dict(type='ClassBalancedSampler', shuffle=True, round_up=True, by='performance'))
