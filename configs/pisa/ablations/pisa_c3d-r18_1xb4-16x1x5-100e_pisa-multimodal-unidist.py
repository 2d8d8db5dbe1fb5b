# Ablation (sampling): 5 clips of 16 frames per sample instead of 10 (each sample covers
# the performance as sparsely as before, with twice the samples).
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
clip_sampler = dict(type='UniformSampler', num_clips=5, clip_len=16)
train_dataloader = dict(dataset=dict(clip_sampler=clip_sampler))
val_dataloader = dict(dataset=dict(clip_sampler=clip_sampler))
test_dataloader = dict(dataset=dict(clip_sampler=clip_sampler))
