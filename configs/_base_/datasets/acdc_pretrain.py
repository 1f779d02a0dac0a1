# IDEAL stage 1's data on ACDC (raw NIfTI at data/ACDC): every slice of the
# SSL4MIS train patients, labelled and unlabelled, labels never loaded; never
# val or test (the pre-training model makes no predictions). Two views per
# slice with random flip / rotation / scale-crop / shift (exact
# correspondence) and per-view RandomIntensity.
data_root = 'data/ACDC'
split_cfg = dict(type='ssl4mis')
crop_size = (256, 256)  # divisible by 16 (4 UNet downsamplings)

train_pipeline = [
    dict(type='LoadACDCSlice', with_label=False),
    dict(
        type='DenseContrastiveTwoView',
        out_size=crop_size,
        keep_ratio=False,
        flip_prob=0.5,
        rotate_prob=0.5,
        rotate_range=30,
        scale_range=(0.8, 1.25),
        translate=0.1,
        view_pipeline=[dict(type='RandomIntensity')]),
    dict(type='PackTwoViewInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ACDCDataset',
        data_root=data_root,
        source='raw',
        split='train',
        subset='all',
        split_cfg=split_cfg,
        pipeline=train_pipeline))
val_dataloader = None
val_evaluator = None
test_dataloader = None
test_evaluator = None
