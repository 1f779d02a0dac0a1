# CPU demo of IDEAL stage 1 on phantom ACDC (tools/data/make_phantom_acdc.py
# --out data/phantom_acdc): the UNet pre-training of
# configs/ideal/unet_acdc_pretrain.py (same model, views, optimiser and hooks)
# on 96x96 views, batch 8, 600 iterations with a 30-iteration warm-up (a few
# minutes on 2 CPU cores). At 96x96 the encoder output is only 6x6, so the
# dense head fuses the two deepest levels at 1/8 (12x12 grid). Writes
# <work_dir>/encoder.pth for the fine-tuning demos.
_base_ = [
    '../_base_/models/ideal_unet_pretrainer.py',
    '../_base_/datasets/acdc_pretrain.py', '../_base_/default_runtime.py',
    '../_base_/schedules/pretrain_20k.py'
]

data_root = 'data/phantom_acdc'
split_cfg = dict(type='seeded', seed=0, num_val=4, num_test=8)
crop_size = (96, 96)
max_iters = 600
warmup_iters = 30

model = dict(
    proj_head=dict(in_channels=384, in_index=[3, 4], hidden_channels=256),
    loss=dict(num_samples=128))
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
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    pin_memory=False,
    dataset=dict(
        data_root=data_root, split_cfg=split_cfg, pipeline=train_pipeline))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=warmup_iters,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25, log_metric_by_epoch=False),
    checkpoint=dict(
        _delete_=True,
        type='CheckpointHook',
        by_epoch=False,
        interval=max_iters,
        max_keep_ckpts=1))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone.encoder.0.': dict(lr_mult=0.1)}))
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(
        type='ExportEncoderHook',
        filename='encoder.pth',
        exclude=['encoder.0.'])
]
# Linear probe of the encoder during pre-training (EncoderProbeHook, see
# "Probing an encoder" in docs/paper_to_code.md): logs probe/mDice and
# probe/<class>_Dice (val split of the fine-tuning demo's data) every 200
# iterations, at the start and at the end; plot them with
# tools/analysis/plot_curves.py WORK_DIR --keys probe/mDice. About 12 s per
# probe on a loaded 2-core CPU, a few % of the run. Off by default because it
# needs the fine-tuning config's labelled data; to switch it on, replace
# custom_hooks above by:
# custom_hooks = [
#     dict(type='MeanTeacherHook'),
#     dict(type='ExportEncoderHook', filename='encoder.pth',
#          exclude=['encoder.0.']),
#     dict(type='EncoderProbeHook',
#          probe_config='configs/demo/ideal_unet_phantom_finetune.py',
#          interval=200, iters=200, split='val', at_start=True),
# ]
