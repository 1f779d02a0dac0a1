# MC-Net's model (Wu et al., MICCAI 2021, code/train_mcnet_2d.py, mcnet2d_v1)
# on the IDEAL encoder (ideal_unet_encoder.py): one encoder, decoder 1
# upsamples bilinearly (the student's head), decoder 2 with transposed
# convolutions (extra_heads; MC-Net v2 adds a third with upsample_mode
# 'nearest'). Labelled slices: class Dice only per decoder (the official
# script computes a CE and leaves it out of the total). Every slice: mutual
# consistency between each decoder's softmax and the others' sharpened
# softmax (T 0.1), weighted by 0.1 * exp(-5 (1 - t/30000)^2); the sharpened
# target is not detached (official). Prediction: decoder 1.
_base_ = ['./ideal_unet_encoder.py']
num_classes = 4
sup_losses = [dict(type='ClassDiceLoss', eps=1e-10, loss_weight=1.0)]
__unet_decoder = dict(  # a `__` name is not a config key
    type='UNetDecoderHead',
    in_channels=[16, 32, 64, 128, 256],
    in_index=[0, 1, 2, 3, 4],
    channels=16,
    num_convs=2,
    dropout_ratio=0.1,
    num_classes=num_classes,
    norm_cfg={{_base_.norm_cfg}},
    align_corners=False,
    loss_decode=sup_losses)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=None,
    std=None,
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32)
model = dict(
    _delete_=True,
    type='MCNetSemiSupModel',
    data_preprocessor=data_preprocessor,
    segmentor=dict(
        type='EncoderDecoder',
        backbone=_base_.model.backbone,
        decode_head=dict(__unet_decoder, upsample_mode='bilinear'),
        test_cfg=dict(mode='whole')),
    extra_heads=[dict(__unet_decoder, upsample_mode='deconv')],
    semi_train_cfg=dict(
        rampup_iters=30000,
        max_consistency_weight=0.1,
        temperature=0.1,
        detach_target=False,
        unsup_on='all'),
    semi_test_cfg=dict(predict_on='student'))
