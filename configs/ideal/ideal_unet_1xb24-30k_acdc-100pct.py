# IDEAL, UNet, all 70 training patients labelled. With no unlabelled slices
# the two-source sampler does not apply: batches of 24 labelled slices from
# mmengine's InfiniteSampler (the data base's sampler), and the cross pseudo
# supervision runs on the labelled slices themselves (unsup_on='all') next to
# CE + Dice, so the method is the same two-stream model as at the lower
# budgets. Model and schedule as unet_acdc.py.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py'
]

pretrain_config = 'configs/ideal/unet_acdc_pretrain.py'
pretrained_encoder = 'work_dirs/unet_acdc_pretrain/encoder.pth'
label_budget = 1.0
model = dict(
    segmentor=dict(
        backbone=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint=pretrained_encoder,
                prefix='backbone.'))),
    semi_train_cfg=dict(unsup_on='all'))
train_dataloader = dict(
    batch_size=24, dataset=dict(subset='labelled', label_budget=label_budget))
custom_hooks = [dict(type='SemiSupSamplerHook')]
