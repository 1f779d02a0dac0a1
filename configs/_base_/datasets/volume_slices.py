# 2D training on slices of 3D volumes, shared by the data set files (acdc.py,
# mmwhs.py): network size, slice pipelines, loader settings and the
# per-volume metric. A data set file adds the `dataset` fields that name its
# data (type, data_root, split_cfg, label_budget, ...) to the three loaders;
# a nested dict in a child merges into the one here.
#
# mmengine substitutes a variable where a file uses it when that file is
# read: a child that changes crop_size (acdc_phantom.py) rebuilds the
# pipelines, and a child that changes data_root, split_cfg or label_budget
# sets them in the loaders' `dataset` dicts too.
#
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
# Evaluation: slices resized to the network size; predictions are resized
# back to ori_shape by the segmentor, and the metric reads the reference
# volume from the cache.
test_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]

__loader = dict(num_workers=4, persistent_workers=True, pin_memory=True)
__eval_loader = dict(
    __loader,
    batch_size=16,
    sampler=dict(type='DefaultSampler', shuffle=False))
train_dataloader = dict(
    __loader,
    batch_size=24,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(split='train', subset='labelled', pipeline=train_pipeline))
val_dataloader = dict(
    __eval_loader,
    dataset=dict(split='val', test_mode=True, pipeline=test_pipeline))
test_dataloader = dict(
    __eval_loader,
    dataset=dict(split='test', test_mode=True, pipeline=test_pipeline))
# per volume, per class; class names come from the dataset's metainfo
val_evaluator = dict(type='ACDCVolumeMetric')
test_evaluator = val_evaluator
