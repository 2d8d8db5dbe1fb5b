# The PISA visual branch alone: C3D (16x112x112 clips -> 4096-d), averaged over clips,
# a 128-d head with 10 level classes and one regression value; CE x 1 + (L1 + L2) x 0.1.
model = dict(
    type='AQAModel',
    data_preprocessor=dict(
        type='AQADataPreprocessor',
        mean=[0.43216, 0.39466, 0.37645],
        std=[0.22803, 0.22145, 0.21698]),
    video_backbone=dict(
        type='C3D', widths=(64, 128, 256, 256, 256), feature_dim=4096,
        clip_len=16, size=112, dropout=0.0, pretrained=None),
    video_aggregator=dict(type='AvgAggregator'),
    head=dict(type='LevelHead', hidden=128, num_classes=10, dropout=0.0),
    losses=[
        dict(type='CrossEntropyLoss', weight=1.0),
        dict(type='L1L2Loss', weight=0.1),
    ],
    branches=('video', ),
    decision_branch='video')
