# The end-to-end counterpart of tiny_c3d-feat_adam-1e-3_2e_synthetic-video-unidist.py: the
# tiny config with its C3D loaded from $PISA_BACKBONE_WEIGHTS and frozen
# (FreezeModulesHook: no gradients, eval mode) and no flip in training, so every epoch
# decodes the clips and runs the backbone to compute what the feature run reads.
_base_ = ['../synthetic/tiny_c3d_adam-1e-3_2e_synthetic-video-unidist.py']
train_dataloader = dict(dataset=dict(pipeline={{_base_.test_pipeline}}))
model = dict(video_backbone=dict(
    pretrained='{{$PISA_BACKBONE_WEIGHTS:work_dirs/backbones/tiny_c3d.pth}}'))
custom_hooks = _base_.custom_hooks + [dict(type='FreezeModulesHook', modules=['video_backbone'])]
