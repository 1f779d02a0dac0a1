# CPU demo of IDEAL stage 2 on phantom ACDC (tools/data/make_phantom_acdc.py
# --out data/phantom_acdc): configs/ideal/unet_acdc.py with 2 labelled
# patients (the rest of the train split unlabelled), 96x96 slices, batches of
# 4 labelled + 4 unlabelled, 600 iterations (the schedule of
# configs/demo/supervised_unet_phantom.py), consistency ramp-up over 300.
# One step costs about 1.6x a supervised step (two decoders). To change the
# schedule set max_iters in train_cfg and in the PolyLR end (both are
# substituted here).
# The encoder comes from configs/demo/ideal_unet_phantom_pretrain.py; pass
# another file with --cfg-options model.backbone.init_cfg.checkpoint=PATH.
_base_ = ['../ideal/unet_acdc.py']

pretrain_config = 'configs/demo/ideal_unet_phantom_pretrain.py'
pretrained_encoder = 'work_dirs/ideal_unet_phantom_pretrain/encoder.pth'
data_root = 'data/phantom_acdc'
split_cfg = dict(type='seeded', seed=0, num_val=4, num_test=8)
label_budget = 2
crop_size = (96, 96)
labelled_per_batch = 4
unlabelled_per_batch = 4
max_iters = 600
val_interval = 100
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'scale_factor', 'flip', 'flip_direction', 'volume_id',
             'slice_idx', 'num_slices', 'spacing', 'labelled')

model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained_encoder,
            prefix='backbone.')),
    semi_train_cfg=dict(rampup_iters=300))

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
    # PackSegInputs plus the hidden label of unlabelled slices when the
    # dataset has oracle_labels=True (logged as oracle.*, never trained on)
    dict(type='PackSemiSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadACDCSlice', with_label=True),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    num_workers=2,
    pin_memory=False,
    sampler=dict(
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch]),
    dataset=dict(
        data_root=data_root,
        label_budget=label_budget,
        split_cfg=split_cfg,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    pin_memory=False,
    dataset=dict(
        data_root=data_root, split_cfg=split_cfg, pipeline=test_pipeline))
test_dataloader = val_dataloader

train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=val_interval, max_keep_ckpts=1))
