# mmseg's UNet (5 stages, base 16) with an FCN head, CE + class-averaged Dice;
# single-channel MRI input, 4 classes (background, RV, Myo, LV). The UNet's
# encoder settings are those of the IDEAL encoder (ideal_unet_encoder.py).
_base_ = ['./ideal_unet_encoder.py']
norm_cfg = {{_base_.norm_cfg}}
num_classes = 4
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=None,
    std=None,
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size_divisor=16)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(type='UNet'),
    decode_head=dict(
        type='FCNHead',
        in_channels=16,
        in_index=4,
        channels=16,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        # PyTorch's default initialisation of conv_seg instead of mmseg's
        # Normal(std=0.01): with few labelled patients the latter stalled at
        # background + RV (docs/paper_to_code.md, "Data and evaluation").
        init_cfg=None,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            dict(type='ClassDiceLoss', loss_weight=1.0),
        ]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
