# The IDEAL encoder: the encoder of mmseg's UNet (base 16, 5 stages, 2 convs
# per stage, 4 downsamplings: features at 1, 1/2, ..., 1/16 with 16 ... 256
# channels), single-channel MRI input. The mmseg UNet of unet_fcn.py is this
# encoder plus its decoder; stage 1 (ideal_unet_pretrainer.py) pre-trains it
# and stage 2 (ideal_unet_two_decoders.py) fine-tunes it.
# Only `model` and `norm_cfg` are defined here, so a config that inherits
# this file gets no other key.
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        type='UNetEncoder',
        in_channels=1,
        base_channels=16,
        num_stages=5,
        strides=(1, 1, 1, 1, 1),
        enc_num_convs=(2, 2, 2, 2, 2),
        dec_num_convs=(2, 2, 2, 2),
        downsamples=(True, True, True, True),
        enc_dilations=(1, 1, 1, 1, 1),
        dec_dilations=(1, 1, 1, 1),
        with_cp=False,
        conv_cfg=None,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        upsample_cfg=dict(type='InterpConv'),
        norm_eval=False))
