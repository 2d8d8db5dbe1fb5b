# The PISA reference model (Fig. 4): C3D on 16x112x112 clips (C64-P-C128-P-C256-P-C256-P-
# C256-P with pool5 padded spatially, so its flattened 256x1x4x4 output is the 4096-d
# feature; no fully connected projection, 4.65M parameters), ResNet-18 on 224x224 mel
# images (512-d), clip features averaged, concatenation (4608-d) without
# back-propagation into the backbones, a 128-d head per branch with 10 level classes and
# one regression value, and Eq. 1's weights (CE x 1, L1 + L2 x 0.1) in every branch.
model = dict(
    type='AQAModel',
    # the released loader normalised the C3D's frames with the ImageNet mean/std (the
    # Kinetics values were its 3D ResNet's); mel images pass unchanged (no audio_mean/std):
    # their scale is the dataset's MelSpectrogram's (0..1 in the PISA dataset bases)
    data_preprocessor=dict(
        type='AQADataPreprocessor',
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225]),
    video_backbone=dict(
        type='C3D', widths=(64, 128, 256, 256, 256), feature_dim=None,
        clip_len=16, size=112, dropout=0.0, pretrained=None),
    audio_backbone=dict(type='AudioResNet18', pretrained=None),
    video_aggregator=dict(type='AvgAggregator'),
    audio_aggregator=dict(type='AvgAggregator'),
    fusion=dict(type='ConcatFusion', detach=True),
    head=dict(type='LevelHead', hidden=128, num_classes=10, dropout=0.0),
    losses=[
        dict(type='CrossEntropyLoss', weight=1.0),
        dict(type='L1L2Loss', weight=0.1),
    ],
    branches=('video', 'audio', 'multimodal'),
    decision_branch='multimodal')
