# Ablation (target): predict the song's level instead of the player's.
_base_ = ['../pisa_c3d-r18_1xb4-16x1x10-100e_pisa-multimodal-unidist.py']
train_dataloader = dict(dataset=dict(label='song'))
val_dataloader = dict(dataset=dict(label='song'))
test_dataloader = dict(dataset=dict(label='song'))
