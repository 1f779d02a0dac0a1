# IDEAL, UNet: 1.25% of the 70 training patients (round(0.875) -> 1 patient),
# the paper's smallest budget labelled; every other training patient
# unlabelled. Model, data, batches and schedule as unet_acdc.py.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py'
]

pretrain_config = 'configs/ideal/unet_acdc_pretrain.py'
pretrained_encoder = 'work_dirs/unet_acdc_pretrain/encoder.pth'
label_budget = 0.0125
model = dict(
    segmentor=dict(
        backbone=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint=pretrained_encoder,
                prefix='backbone.'))))
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
