# IDEAL stage 2 on ACDC (the paper's headline setting): 10% of the 70 SSL4MIS
# training patients labelled (label_budget=0.1 -> 7 patients), the other 63
# unlabelled. One shared encoder-only UNet (base 16, 5 stages), initialised
# from stage 1 (configs/ideal/unet_acdc_pretrain.py -> encoder.pth), and two
# UNet decoders of different architecture: stream 1 upsamples bilinearly,
# stream 2 with transposed convolutions. Labelled slices: 0.5 CE + 0.5 Dice
# per stream (SSL4MIS's CPS weights); unlabelled slices: cross pseudo
# supervision (argmax of one stream supervises the other), weighted by
# 0.1 * exp(-5 (1 - t/30000)^2) (SSL4MIS's ramp: 200 "epochs" of 150 iters).
# Batches: 12 labelled + 12 unlabelled 256x256 slices; SGD lr 0.01, poly, 30k
# iterations; prediction = mean of the two streams' softmax maps. The label
# budgets of the paper's table are ideal_unet_1xb24-30k_acdc-*.py (10% is
# this file).
#
# Pre-trained encoder: `pretrained_encoder` below is read when this file is
# parsed; to change it from the command line set the model field directly:
#   --cfg-options model.segmentor.backbone.init_cfg.checkpoint=PATH
#   --cfg-options model.segmentor.backbone.init_cfg=None   (from scratch)
# tools/train.py stops at start-up with the pre-training command when the
# file is missing (it reads `pretrain_config`).
#
# Multi-GPU: set norm_cfg = dict(type='SyncBN', requires_grad=True) (see
# ideal_unet_4xb6-30k_acdc-10pct.py); tools/train.py turns SyncBN back into BN
# for CPU-only distributed runs. All parameters receive gradients every step
# (every batch holds labelled slices), so DDP needs no find_unused_parameters.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py'
]

pretrain_config = 'configs/ideal/unet_acdc_pretrain.py'
pretrained_encoder = 'work_dirs/unet_acdc_pretrain/encoder.pth'  # or None
label_budget = 0.1
labelled_per_batch = 12
unlabelled_per_batch = 12

# encoder, decoders, their losses and the semi-supervised options:
# _base_/models/ideal_unet_two_decoders.py
model = dict(
    segmentor=dict(
        backbone=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint=pretrained_encoder,
                prefix='backbone.') if pretrained_encoder else None)))

# One ACDCDataset over every train patient: the budget's patients carry
# labels, the others have seg_map_path=None, so LoadACDCSlice reads no label
# for them and the sampler groups the slices by the `labelled` flag.
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
