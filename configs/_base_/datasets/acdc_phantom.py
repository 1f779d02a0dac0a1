# Phantom ACDC (tools/data/make_phantom_acdc.py --out data/phantom_acdc) for
# CPU demos: a seeded patient split of whatever patients were generated,
# 96x96 network input, small batches.
#
# mmengine substitutes variables when the base file is read, so changing
# crop_size / data_root / split_cfg / label_budget here does not reach the
# pipelines and dataloaders of acdc.py: they are redefined or re-set below.
# A config inheriting from this file must do the same for what it changes.
_base_ = ['./acdc.py']

data_root = 'data/phantom_acdc'
split_cfg = dict(type='seeded', seed=0, num_val=4, num_test=8)
label_budget = 2
crop_size = (96, 96)  # square, divisible by 16 (4 UNet downsamplings)
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
test_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        data_root=data_root,
        label_budget=label_budget,
        split_cfg=split_cfg,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        data_root=data_root, split_cfg=split_cfg, pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        data_root=data_root, split_cfg=split_cfg, pipeline=test_pipeline))
