# IDEAL stage 2's model: the IDEAL encoder (ideal_unet_encoder.py) shared by
# two UNet decoders of different architecture, BiConsistencySemiSupModel.
# Stream 1 upsamples bilinearly, stream 2 with transposed convolutions; each
# decodes all five encoder levels (16 ... 256 channels) into `num_classes`
# maps with `sup_losses` (0.5 CE + 0.5 class Dice, SSL4MIS's CPS weights) on
# labelled slices. The training options (semi_train_cfg), the data
# preprocessor and the pre-trained weights are set by the config that uses
# this file (configs/ideal/unet_acdc.py).
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
model = dict(
    type='BiConsistencySemiSupModel',
    decode_head_1=dict(__unet_decoder, upsample_mode='bilinear'),
    decode_head_2=dict(__unet_decoder, upsample_mode='deconv'))
