# Dataloaders over the synthetic dataset that `pisa synth DIR` renders (DIR/performances.csv,
# DIR/videos/<id>.mp4 with audio): PISADataset in its 'video' layout, samples cut with the
# unidist scheme; a performer-disjoint split (30 % of the performances for test) and a
# validation split carved from the training performances.
# DIR comes from --data-root or PISA_DATA_ROOT (default data/synthetic, relative).
data_root = '{{$PISA_DATA_ROOT:data/synthetic}}'
clip_len = 8
num_clips = 4
frame_side = 56
frame_size = (frame_side, frame_side)
mel_size = (64, 64)
sample_rate = 16000
modalities = ('video', 'audio')

test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=frame_size),
    dict(type='LoadAudio', sample_rate=sample_rate),
    dict(type='MelSpectrogram', size=mel_size),
    dict(type='PackAQAInputs', modalities=modalities),
]
train_pipeline = test_pipeline[:2] + [dict(type='RandomFlip', prob=0.5)] + test_pipeline[2:]
# The notes a transcriber hears (the pisa-transcription plugin; configs using these set
# required_plugins): per clip a piano roll (3 x 88 x 32) and the 21 note descriptors,
# per sample those of the whole performance; stored beside the prepared cache.
notes_steps = [dict(type='LoadNotes', transcriber=dict(type='BasicPitchTranscriber')),
               dict(type='PianoRoll', width=32),
               dict(type='NoteDescriptors', performance=True)]
notes_inputs = dict(notes_clip_features='note_descriptors',
                    notes_sample_features='performance_descriptors')
notes_pipeline = notes_steps + [
    dict(type='PackAQAInputs', modalities=('notes', ), extra_inputs=notes_inputs)]
all_test_pipeline = test_pipeline[:4] + notes_steps + [
    dict(type='PackAQAInputs', modalities=('video', 'audio', 'notes'), extra_inputs=notes_inputs)]
all_train_pipeline = all_test_pipeline[:2] + [dict(type='RandomFlip', prob=0.5)] + all_test_pipeline[2:]
dataset = dict(
    type='PISADataset',
    data_root=data_root + '/videos',
    table=data_root + '/performances.csv',
    layout='video',
    scheme='unidist',
    split_mode='performer_disjoint',
    test_fraction=0.3,
    val_performances=0.25,
    clip_sampler=dict(type='UniformSampler', num_clips=num_clips, clip_len=clip_len),
    modalities=modalities,
    pipeline=test_pipeline)

train_dataloader = dict(
    batch_size=4, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train', pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=4, num_workers=0, collate_fn=dict(type='default_collate'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='test', test_mode=True))
val_dataloader = dict(test_dataloader, dataset=dict(dataset, split='val', test_mode=True))
val_evaluator = dict(type='LevelMetrics', num_classes=10)
test_evaluator = dict(type='LevelMetrics', num_classes=10)
