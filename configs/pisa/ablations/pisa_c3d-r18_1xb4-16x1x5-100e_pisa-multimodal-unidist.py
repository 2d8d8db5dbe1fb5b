# Ablation (sampling): 5 clips of 16 frames per sample instead of 10 (each sample covers
# the performance as sparsely as before, with twice the samples).
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
sampler = dict(type='UniformSampler', num_clips=5, clip_len=16)
train_dataloader = dict(dataset=dict(sampler=sampler))
val_dataloader = dict(dataset=dict(sampler=sampler))
test_dataloader = dict(dataset=dict(sampler=sampler))
