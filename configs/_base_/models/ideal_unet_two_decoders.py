# IDEAL stage 2's model, BiConsistencySemiSupModel: the student (`segmentor`:
# the IDEAL encoder of ideal_unet_encoder.py and stream 1's UNet decoder) plus
# a second UNet decoder of another architecture (`decode_head_2`) on the same
# encoder features. Stream 1 upsamples bilinearly, stream 2 with transposed
# convolutions; each
# decodes all five encoder levels (16 ... 256 channels) into `num_classes`
# maps with `sup_losses` (0.5 CE + 0.5 class Dice, SSL4MIS's CPS weights) on
# labelled slices. Unlabelled slices: cross pseudo supervision (argmax of one
# stream supervises the other), weighted by 0.1 * exp(-5 (1 - t/30000)^2)
# (SSL4MIS's ramp over the 30k schedule; a shorter schedule sets
# semi_train_cfg.rampup_iters); prediction = mean of the two streams' softmax
# maps. The pre-trained encoder weights (backbone.init_cfg) are set by the
# config that uses this file (configs/ideal/unet_acdc.py):
# model.segmentor.backbone.init_cfg.
_base_ = ['./ideal_unet_encoder.py']
num_classes = 4
sup_losses = [
    dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5),
    dict(type='ClassDiceLoss', loss_weight=0.5),
]
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
    _delete_=True,  # the encoder file's `backbone` moves into the student
    type='BiConsistencySemiSupModel',
    data_preprocessor=data_preprocessor,
    segmentor=dict(
        type='EncoderDecoder',
        backbone=_base_.model.backbone,
        decode_head=dict(__unet_decoder, upsample_mode='bilinear'),
        test_cfg=dict(mode='whole')),
    decode_head_2=dict(__unet_decoder, upsample_mode='deconv'),
    semi_train_cfg=dict(
        rampup_iters=30000,
        max_consistency_weight=0.1,
        conf_threshold=None,
        unsup_on='unlabelled'),
    semi_test_cfg=dict(predict_on='mean'))
