# FineDiving as its authors' loader reads it for I3D methods (github.com/xujinglin/FineDiving:
# FineDiving_TSA.yaml, datasets/FineDiving_Pair.py, tools/builder.py, models/Backbone.py):
# - frames: 96 spread evenly over the dive's trimmed frames (`frame_length: 96`;
#   np.linspace(first, last, 96) truncated), 9 clips of 16 starting at 0, 10, ..., 80
#   (Backbone.py `start_idx = range(0, 90, 10)`);
# - pixels: resized to 200 high x 112 wide (torchvideotransforms' Resize((200, 112)) on
#   PIL frames is PIL's (112, 200) = (width, height)), a random 112 x 112 crop and a
#   horizontal flip in training, the centre crop in testing (the method configs'
#   preprocessor normalises with ImageNet's mean/std, as builder.py does);
# - split: the released train_split.pkl / test_split.pkl.
_base_ = ['./finediving.py']
window = dict(_delete_=True, type='WindowClipSampler', window=96,
              starts=(0, 10, 20, 30, 40, 50, 60, 70, 80), clip_len=16, spacing='linspace')
train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(200, 112)),
    dict(type='RandomCrop', size=(112, 112)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackAQAInputs', modalities=('video', )),
]
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(112, 112), resize=(200, 112)),
    dict(type='PackAQAInputs', modalities=('video', )),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline, clip_sampler=window))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline, clip_sampler=window))
test_dataloader = val_dataloader
