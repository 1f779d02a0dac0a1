# MM-WHS 2017 CT (the IDEAL paper's second data set) after
#   python tools/data/convert_mmwhs.py --src data/MMWHS --out data/MMWHS_CT --modality ct
# an nnU-Net v2 raw folder: 20 labelled volumes (imagesTr/labelsTr, 8
# classes: background, Myo, LA, LV, RA, RV, AA, PA) and the 40 unlabelled
# challenge test volumes (imagesTs), which join the unlabelled pool.
# Patient-level split, seeded: 12 train / 2 val / 6 test volumes (one volume
# per patient); label budgets are fractions of the 12 train patients.
# CT intensities: clipped to a fixed HU window and scaled to [0, 1]
# (nnU-Net clips CT to a fixed range); the window covers myocardium (~100
# HU) to contrast-enhanced blood (~300-500 HU) and drops bone / air detail.
# Axial slices (the NIfTI Z axis) at 256x256.
#
# Children that change data_root / split_cfg / label_budget must set them in
# the dataloaders' `dataset` dicts too (mmengine substitutes variables when
# this file is read; see acdc.py).
dataset_type = 'NnUNetDataset'
data_root = 'data/MMWHS_CT'
split_cfg = dict(type='seeded', seed=0, num_val=2, num_test=6)
label_budget = 0.1
normalize = 'window'
intensity_window = (-200.0, 800.0)
crop_size = (256, 256)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'volume_id',
             'slice_idx', 'num_slices', 'spacing', 'labelled')
max_open_volumes = 512

train_pipeline = [
    dict(type='LoadACDCSlice', with_label=True, max_open=max_open_volumes),
    dict(
        type='RandomAffineResize',
        out_size=crop_size,
        rotate_prob=0.5,
        rotate_range=20,
        flip_prob=0.5,
        flip_direction=['horizontal', 'vertical']),
    dict(type='RandomIntensity'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=24,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        subset='labelled',
        label_budget=label_budget,
        split_cfg=split_cfg,
        normalize=normalize,
        intensity_window=intensity_window,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        split_cfg=split_cfg,
        normalize=normalize,
        intensity_window=intensity_window,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        split_cfg=split_cfg,
        normalize=normalize,
        intensity_window=intensity_window,
        test_mode=True,
        pipeline=test_pipeline))
# class names (Myo, LA, LV, RA, RV, AA, PA) come from the dataset's metainfo
val_evaluator = dict(type='ACDCVolumeMetric')
test_evaluator = val_evaluator
