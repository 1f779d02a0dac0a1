# CPU demo of IDEAL stage 2 on phantom ACDC (tools/data/make_phantom_acdc.py
# --out data/phantom_acdc): the model of configs/ideal/unet_acdc.py on the
# data of configs/_base_/datasets/acdc_phantom.py, 2 labelled patients (the
# rest of the train split unlabelled), 96x96 slices, batches of
# 4 labelled + 4 unlabelled, 600 iterations (_base_/schedules/schedule_600.py,
# as configs/demo/supervised_unet_phantom.py), consistency ramp-up over 300.
# One step costs about 1.6x a supervised step (two decoders). To change the
# schedule set max_iters in train_cfg and in the PolyLR end (both are
# substituted in the schedule file).
# The encoder comes from configs/demo/ideal_unet_phantom_pretrain.py; pass
# another file with
#   --cfg-options model.segmentor.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc_phantom.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_600.py'
]

pretrain_config = 'configs/demo/ideal_unet_phantom_pretrain.py'
pretrained_encoder = 'work_dirs/ideal_unet_phantom_pretrain/encoder.pth'

model = dict(
    segmentor=dict(
        backbone=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint=pretrained_encoder,
                prefix='backbone.'))),
    semi_train_cfg=dict(rampup_iters=300))

# acdc_phantom.py's training pipeline,
# packed with the hidden label of unlabelled slices when the dataset has
# oracle_labels=True (logged as oracle.*, never trained on)
train_pipeline = [
    dict(
        type='LoadACDCSlice',
        with_label=True,
        max_open=_base_.max_open_volumes),
    dict(
        type='RandomAffineResize',
        out_size=_base_.crop_size,
        rotate_prob=0.5,
        rotate_range=20,
        flip_prob=0.5,
        flip_direction=['horizontal', 'vertical']),
    dict(type='RandomIntensity'),
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
labelled_per_batch = 4
unlabelled_per_batch = 4
# One ACDCDataset over every train patient, grouped into labelled and
# unlabelled slices by the sampler (as configs/ideal/unet_acdc.py).
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    pin_memory=False,
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(subset='all', pipeline=train_pipeline))
val_dataloader = dict(pin_memory=False)
test_dataloader = val_dataloader
custom_hooks = [dict(type='SemiSupSamplerHook')]

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval={{_base_.val_interval}}, max_keep_ckpts=1))
