# CoRe's model (the pisa-core plugin) over the backbone it was published with: the
# Kinetics-400 Inception-v1 I3D of CoRe's model_rgb.pth (github.com/yuxumin/CoRe,
# MTL_CoRe.yaml `pretrained_i3d_weight`; models/Backbone.py loads it whole), features of
# the last pooled layer (Mixed_5c averaged, 1024-d; models/i3d.py returns `avg_pool`),
# BatchNorms as in CoRe's port (models/i3d.py: PyTorch's defaults, eps 1e-5, momentum
# 0.1). The tree (depth 5, hidden 256), score_range 30, Adam 1e-3 with the backbone at
# 0.1x (tools/builder.py `lr_factor`), no weight decay, batch 1 with gradients accumulated
# over 2 steps (`step_per_update`), 200 epochs: _core_c3d.py, the same recipe.
# The weights file (model_rgb.pth; pytorch-i3d's rgb_imagenet.pt loads as well):
# $PISA_BACKBONE_WEIGHTS, default data/weights/model_rgb.pth. Nothing downloads.
_base_ = ['_core_c3d.py']
model = dict(
    backbone=dict(
        _delete_=True, type='I3D', feature='mixed_5c', bn_eps=1e-5, bn_momentum=0.1,
        pretrained='{{$PISA_BACKBONE_WEIGHTS:data/weights/model_rgb.pth}}'))
