# A generic AQA dataset described by one CSV / JSON-lines file (format: the docstring of
# pisa/data/adapters/csv_dataset.py): levels 1..10 as classes, samples of 10 clips x 16 frames
# spread over each performance, 112x112 video and 224x224 mel images at 22.05 kHz.
# $AQA_ANN_FILE (default data/aqa/annotations.csv); paths in it are relative to its folder.
# Rows need no fps column: each video's own rate is used.
ann_file = '{{$AQA_ANN_FILE:data/aqa/annotations.csv}}'
cache_dir = None  # a folder written by `pisa prepare` (then no decoding)
dataset_type = 'AQACSVDataset'
task = 'level'
num_classes = 10
clip_sampler = dict(type='UniformSampler', num_clips=10, clip_len=16)

train_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(112, 112)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='LoadAudio', sample_rate=22050),
    dict(type='MelSpectrogram', size=(224, 224)),
    dict(type='PackAQAInputs', modalities=('video', 'audio')),
]
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(112, 112)),
    dict(type='LoadAudio', sample_rate=22050),
    dict(type='MelSpectrogram', size=(224, 224)),
    dict(type='PackAQAInputs', modalities=('video', 'audio')),
]

# The notes a transcriber hears (the pisa-transcription plugin; a config using these sets
# required_plugins): per clip a piano roll (3 x 88 x 32) and the 21 note descriptors, per
# sample those of the whole performance, stored beside the prepared cache.
notes_steps = [dict(type='LoadNotes', transcriber=dict(type='BasicPitchTranscriber')),
               dict(type='PianoRoll', width=32),
               dict(type='NoteDescriptors', performance=True)]
notes_pipeline = notes_steps + [
    dict(type='PackAQAInputs', modalities=('notes', ), extra_inputs=dict(
        notes_clip_features='note_descriptors', notes_sample_features='performance_descriptors'))]

loader = dict(batch_size=4, num_workers=2, collate_fn=dict(type='default_collate'))
# validation carved from the train rows (grouped by the `group` column, stratified by
# level), so a file with only train and test rows works; None reads the file's val rows
val_performances = 0.15
dataset = dict(type=dataset_type, ann_file=ann_file, task=task, num_classes=num_classes,
               clip_sampler=clip_sampler, cache_dir=cache_dir, val_performances=val_performances)
train_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='val', pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    loader, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='test', pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='LevelMetrics', num_classes=num_classes)
test_evaluator = val_evaluator
