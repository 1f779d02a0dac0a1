# Cross pseudo supervision baseline: the IDEAL model of
# configs/ideal/unet_acdc.py (shared UNet encoder, bilinear vs
# transposed-convolution UNet decoders, CE + Dice, ramped CPS on unlabelled
# slices), trained from scratch: no stage-1 pre-training. Same data, batches
# and schedule, so "IDEAL - CPS" measures the dense contrastive pre-training
# alone. (SSL4MIS's CPS uses two separate networks; here the encoder is shared
# so that the only difference to IDEAL is the initialisation.) CPS baseline (no
# pre-training), labels: 7 labelled patients (the SSL4MIS protocol; the same
# patients as 10%).
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py'
]

label_budget = 7
model = dict(segmentor=dict(backbone=dict(init_cfg=None)))  # from scratch
labelled_per_batch = 12
unlabelled_per_batch = 12
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(subset='all', label_budget=label_budget))
custom_hooks = [dict(type='SemiSupSamplerHook')]
