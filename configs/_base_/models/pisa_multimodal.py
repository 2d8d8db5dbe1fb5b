# The PISA reference model (Fig. 4): C3D on 16x112x112 clips (4096-d), ResNet-18 on
# 224x224 mel images (512-d), clip features averaged, concatenation (4608-d) without
# back-propagation into the backbones, a 128-d head per branch with 10 level classes and
# one regression value, and Eq. 1's weights (CE x 1, L1 + L2 x 0.1) in every branch.
model = dict(
    type='AQAModel',
    data_preprocessor=dict(
        type='AQADataPreprocessor',
        mean=[0.43216, 0.39466, 0.37645],
        std=[0.22803, 0.22145, 0.21698]),
    video_backbone=dict(
        type='C3D', widths=(64, 128, 256, 256, 256), feature_dim=4096,
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
