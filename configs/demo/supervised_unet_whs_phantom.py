# CPU demo on a data set other than ACDC: the supervised baseline on the
# whole-heart phantom in nnU-Net layout (8 classes: background, Myo, LA, LV,
# RA, RV, AA, PA; CT-like intensities in HU):
#   python tools/data/make_phantom_whs.py --out data/phantom_whs
#   python tools/train.py configs/demo/supervised_unet_whs_phantom.py
# The data set part is configs/_base_/datasets/mmwhs_ct.py (NnUNetDataset,
# HU window, classes from dataset.json) pointed at the phantom; everything
# that uses data_root / split_cfg / crop_size is set again below.
_base_ = [
    '../_base_/models/unet_fcn.py', '../_base_/datasets/mmwhs_ct.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]
data_root = 'data/phantom_whs'
split_cfg = dict(type='seeded', seed=0, num_val=2, num_test=4)
label_budget = 4
crop_size = (96, 96)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'volume_id',
             'slice_idx', 'num_slices', 'spacing', 'labelled')
train_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
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
model = dict(decode_head=dict(num_classes=8))
max_iters = 600
val_interval = 100
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=val_interval, max_keep_ckpts=1))
