# The PISA aural branch alone: the reference model (pisa_multimodal.py) without the video
# backbone and the fusion: ResNet-18 on 1x224x224 mel images (512-d; set
# audio_backbone.pretrained to a local torchvision ResNet-18 state dict for ImageNet
# initialisation), averaged over clips, a 128-d head with 10 level classes and one
# regression value; CE x 1 + (L1 + L2) x 0.1.
_base_ = ['pisa_multimodal.py']
model = dict(
    video_backbone=None,
    video_aggregator=None,
    fusion=None,
    branches=('audio', ),
    decision_branch='audio')
