# The segmentor that Chaitanya et al.'s pre-training initialises: the IDEAL
# encoder (ideal_unet_encoder.py) and one bilinear UNet decoder (IDEAL's
# stream-1 decoder, 0.5 CE + 0.5 class Dice), an mmseg EncoderDecoder. The
# local pre-training configs (configs/pretrain/chaitanya-local_*.py) train
# the first decoder blocks of this same `decode_head`, so their export
# loads into it tensor for tensor.
_base_ = ['./ideal_unet_encoder.py']
num_classes = 4
decode_head = dict(
    type='UNetDecoderHead',
    in_channels=[16, 32, 64, 128, 256],
    in_index=[0, 1, 2, 3, 4],
    channels=16,
    upsample_mode='bilinear',
    num_convs=2,
    dropout_ratio=0.1,
    num_classes=num_classes,
    norm_cfg={{_base_.norm_cfg}},
    align_corners=False,
    loss_decode=[
        dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5),
        dict(type='ClassDiceLoss', loss_weight=0.5),
    ])
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=None,
    std=None,
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=32)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    decode_head=decode_head,
    test_cfg=dict(mode='whole'))
