# IDEAL backbone swap: mmseg's MixVisionTransformer MiT-B0 as the shared
# encoder (the mitb0_swap block of configs/_base_/models/encoder_swaps.py:
# single-channel patch embedding, exactly as
# configs/ideal/mitb0_acdc_pretrain.py), 10% labelled, with AdamW as mmseg's
# SegFormer configs. Multi-GPU: SyncBN only concerns the decoders here (MiT
# uses LayerNorm): set their norm_cfg.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py', '../_base_/models/encoder_swaps.py'
]

pretrain_config = 'configs/ideal/mitb0_acdc_pretrain.py'
pretrained_encoder = _base_.mitb0_encoder_file
label_budget = 0.1
model = _base_.mitb0_swap
optim_wrapper = _base_.mitb0_optim_wrapper
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
