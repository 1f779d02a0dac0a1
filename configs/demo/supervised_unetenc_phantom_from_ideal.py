# supervised_unetenc_phantom.py starting from the encoder of IDEAL stage 1
# (configs/demo/ideal_unet_phantom_pretrain.py): same model, data and
# schedule, so the difference in test Dice is what pre-training gives.
_base_ = [
    '../_base_/models/unet_fcn.py', '../_base_/datasets/acdc_phantom.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600.py'
]
pretrain_config = 'configs/demo/ideal_unet_phantom_pretrain.py'
pretrained_encoder = 'work_dirs/ideal_unet_phantom_pretrain/encoder.pth'
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    # the IDEAL encoder (_base_/models/ideal_unet_encoder.py, through
    # unet_fcn.py) without the UNet's own decoder
    backbone=dict(
        type='UNetEncoder',
        init_cfg=dict(
            type='Pretrained',
            checkpoint=pretrained_encoder,
            prefix='backbone.')),
    decode_head=dict(
        _delete_=True,
        type='UNetDecoderHead',
        in_channels=[16, 32, 64, 128, 256],
        in_index=[0, 1, 2, 3, 4],
        channels=16,
        upsample_mode='bilinear',
        num_convs=2,
        dropout_ratio=0.1,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5),
            dict(type='ClassDiceLoss', loss_weight=0.5),
        ]))
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval={{_base_.val_interval}}, max_keep_ckpts=1))
