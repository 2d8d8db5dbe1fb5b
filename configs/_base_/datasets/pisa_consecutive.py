# PISA with contiguous sampling (the released "consecutive" annotations): each sample is
# 160 consecutive frames cut into 10 clips of 16. Everything else as pisa_unidist.py.
_base_ = ['./pisa_unidist.py']
scheme = 'consecutive'
sampler = dict(type='ContiguousSampler', num_clips=10, clip_len=16)
train_dataloader = dict(dataset=dict(scheme=scheme, sampler=sampler))
val_dataloader = dict(dataset=dict(scheme=scheme, sampler=sampler))
test_dataloader = val_dataloader
test_dataloader = dict(dataset=dict(scheme=scheme, sampler=sampler))
