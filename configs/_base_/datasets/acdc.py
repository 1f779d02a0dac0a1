# ACDC (raw NIfTI download at data/ACDC: training/ and testing/ patient
# folders), SSL4MIS patient split (70 train / 10 val / 20 test), 7 labelled
# patients. Slices are loaded from the normalised volume cache that
# ACDCDataset builds on first use (data/ACDC/.ideal_mm_cache/).
#
# Downstream configs override the variables below. mmengine merges a child's
# dicts into these, but a variable used *inside* another one (crop_size in the
# pipelines, data_root / split_cfg / label_budget in the dataloaders) is
# substituted when this file is read: a child that changes crop_size must
# redefine the pipelines, and a child that changes data_root, split_cfg or
# label_budget must set them in the dataloaders' `dataset` dicts too (see
# acdc_phantom.py).
dataset_type = 'ACDCDataset'
data_root = 'data/ACDC'
source = 'raw'
split_cfg = dict(type='ssl4mis')
label_budget = 7
# Network input, divisible by 16 for UNet. Keep it square: mmcv's Resize
# takes scale=(W, H).
crop_size = (256, 256)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'volume_id',
             'slice_idx', 'num_slices', 'spacing', 'labelled')
# Memory maps each loader worker keeps open: every image and label volume of
# the training set (ACDC: 70 patients x 2 frames x 2 files), so shuffled
# sampling never re-opens a file (np.load costs ~0.2 ms, a slice ~0.02 ms).
max_open_volumes = 512

# Training geometry in one warp (resize + rotation +-20 deg with p=0.5 + flip
# with p=0.5), the same augmentation as Resize + RandomRotate + RandomFlip at
# a fraction of the cost; RandomIntensity runs as OpenCV kernels.
# docs/benchmarks.md has the measurements.
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
# Unlabelled slices: the same augmentation, labels never loaded.
unlabelled_pipeline = [
    dict(type='LoadACDCSlice', with_label=False, max_open=max_open_volumes),
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
# Evaluation: slices resized to the network size; predictions are resized
# back to ori_shape by the segmentor, and the metric reads the reference
# volume from the cache.
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
        source=source,
        split='train',
        subset='labelled',
        label_budget=label_budget,
        split_cfg=split_cfg,
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
        source=source,
        split='val',
        split_cfg=split_cfg,
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
        source=source,
        split='test',
        split_cfg=split_cfg,
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='ACDCVolumeMetric')
test_evaluator = val_evaluator
