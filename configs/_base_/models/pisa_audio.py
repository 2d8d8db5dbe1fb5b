# The PISA aural branch alone: ResNet-18 on 1x224x224 mel images (512-d; set
# audio_backbone.pretrained to a local torchvision ResNet-18 state dict for ImageNet
# initialisation), averaged over clips, a 128-d head with 10 level classes and one
# regression value; CE x 1 + (L1 + L2) x 0.1.
model = dict(
    type='AQAModel',
    data_preprocessor=dict(
        type='AQADataPreprocessor',
        mean=[0.43216, 0.39466, 0.37645],
        std=[0.22803, 0.22145, 0.21698]),
    audio_backbone=dict(type='AudioResNet18', pretrained=None),
    audio_aggregator=dict(type='AvgAggregator'),
    head=dict(type='LevelHead', hidden=128, num_classes=10, dropout=0.0),
    losses=[
        dict(type='CrossEntropyLoss', weight=1.0),
        dict(type='L1L2Loss', weight=0.1),
    ],
    branches=('audio', ),
    decision_branch='audio')
