# IDEAL backbone swap: mmseg's Swin-T as the shared encoder (the swin_swap
# block of configs/_base_/models/encoder_swaps.py, exactly as
# configs/ideal/swin_acdc_pretrain.py; two UNet decoders over its four
# levels), 10% labelled. encoder.pth is loaded by VerifiedInitHook
# (default_runtime), which stops the run before its first iteration unless
# every tensor of the file reached the model.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py', '../_base_/models/encoder_swaps.py'
]

pretrain_config = 'configs/ideal/swin_acdc_pretrain.py'
pretrained_encoder = _base_.swin_encoder_file
label_budget = 0.1
model = _base_.swin_swap
optim_wrapper = _base_.swin_optim_wrapper
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
