# MTL-AQA diving (score regression, video only): one sample per dive of 1 clip x 16
# frames, a random clip in training and the centre clip in testing, 112x112 video.
# $MTL_AQA_DATA_ROOT (default data/mtl_aqa): <video_no:02d>.mp4 and the annotation
# pickles final_annotations_dict.pkl, train_split_0.pkl, test_split_0.pkl.
_base_ = ['./_video_score_loaders.py']
data_root = '{{$MTL_AQA_DATA_ROOT:data/mtl_aqa}}'
cache_dir = None  # a folder written by `pisa prepare` (then no decoding)
dataset_type = 'MTLAQADataset'
dataset = dict(type=dataset_type, data_root=data_root, modalities=('video', ),
               cache_dir=cache_dir)
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = val_dataloader
