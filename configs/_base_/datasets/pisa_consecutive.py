# PISA with contiguous sampling (the released "consecutive" annotations): each sample is
# 160 consecutive frames cut into 10 clips of 16. Everything else as pisa_unidist.py.
_base_ = ['./pisa_unidist.py']
scheme = 'consecutive'
clip_sampler = dict(type='ContiguousSampler', num_clips=10, clip_len=16)
train_dataloader = dict(dataset=dict(scheme=scheme, clip_sampler=clip_sampler))
val_dataloader = dict(dataset=dict(scheme=scheme, clip_sampler=clip_sampler))
test_dataloader = val_dataloader
test_dataloader = dict(dataset=dict(scheme=scheme, clip_sampler=clip_sampler))
