# USDL's model (the pisa-usdl plugin) over the backbone it was published with: the
# Kinetics-400 Inception-v1 I3D of MUSDL's release (github.com/nzl-thu/MUSDL, MTL-AQA/
# opts.py `i3d_pretrained_path = rgb_i3d_pretrained.pt`, pytorch-i3d's layout and
# BatchNorms: eps 1e-3, momentum 0.01), trained whole; features of the last pooled layer
# (1024-d, `feature_dim`), clip features averaged, the evaluator MLP (256, 128).
# The weights file: $PISA_BACKBONE_WEIGHTS, default data/weights/rgb_i3d_pretrained.pt
# (pytorch-i3d's rgb_imagenet.pt and CoRe's model_rgb.pth load as well). Nothing downloads.
_base_ = ['_usdl_c3d.py']
model = dict(
    video_backbone=dict(
        _delete_=True, type='I3D', feature='mixed_5c',
        pretrained='{{$PISA_BACKBONE_WEIGHTS:data/weights/rgb_i3d_pretrained.pt}}'))
