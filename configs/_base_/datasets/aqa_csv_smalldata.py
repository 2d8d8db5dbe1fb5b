# The small-data recipe over the generic CSV dataset (aqa_csv.py: one annotation file,
# $AQA_ANN_FILE, levels 1..10, 10 clips x 16 frames at 112x112 and 224x224 mel images, a
# validation split carved from the train rows by performer): the PISA multimodal model
# with label smoothing 0.1 and head dropout 0.5, AdamW with weight decay 1e-2, warm-up and
# cosine decay over 30 epochs (peak lr 5e-5), early stopping on the validation accuracy,
# and augmentations in training (clip positions jittered by up to a quarter clip, a random
# resized crop of 70-100 % of the area, flips, colour jitter, SpecAugment masks on the mel
# images). Validation and test read what aqa_csv.py reads.
# A complete run: a config of one's own holding only
#     _base_ = ['<path to configs>/_base_/datasets/aqa_csv_smalldata.py']
# (plus what differs: epochs, lr, num_classes, ...), trained with
#     AQA_ANN_FILE=/data/mine/annotations.csv pisa train my_config.py
_base_ = [
    '../regularisation/label-smoothing-0.1.py',  # the model: pisa_multimodal.py + CE smoothing
    './aqa_csv.py',
    '../regularisation/small-data.py',  # the schedule: AdamW, warm-up + cosine
    '../regularisation/early-stopping.py',  # the runtime: default_runtime.py + early stopping
]
train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(112, 112)),
    dict(type='RandomResizedCrop', scale=(0.7, 1.0), ratio=(3 / 4, 4 / 3)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02),
    dict(type='LoadAudio', sample_rate=22050),
    dict(type='MelSpectrogram', size=(224, 224)),
    dict(type='SpecAugment', freq_masks=2, freq_width=24, time_masks=2, time_width=24),
    dict(type='PackAQAInputs', modalities=('video', 'audio')),
]
# jitter: frames, a quarter of the 16-frame clips (merged into aqa_csv.py's sampler)
train_dataloader = dict(dataset=dict(pipeline=train_pipeline, clip_sampler=dict(jitter=4)))
model = dict(head=dict(dropout=0.5))  # head-dropout-0.5.py's change: one model preset per _base_ list
