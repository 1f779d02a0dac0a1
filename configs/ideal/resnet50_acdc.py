# IDEAL backbone swap: mmseg's ResNetV1c-50 as the shared encoder (the
# resnet50_swap block of configs/_base_/models/encoder_swaps.py: dilated last
# stages, output stride 8, exactly as configs/ideal/resnet50_acdc_pretrain.py;
# the two UNet decoders narrowed to 64..512 channels), 10% labelled.
# Multi-GPU: set norm_cfg = dict(type='SyncBN', requires_grad=True) in
# segmentor.backbone / segmentor.decode_head / decode_head_2 as
# ideal_unet_4xb6-30k_acdc-10pct.py.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py', '../_base_/models/encoder_swaps.py'
]

pretrain_config = 'configs/ideal/resnet50_acdc_pretrain.py'
pretrained_encoder = _base_.resnet50_encoder_file
label_budget = 0.1
model = _base_.resnet50_swap
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
