# supervised_unetenc_phantom.py starting from the encoder of IDEAL stage 1
# (configs/demo/ideal_unet_phantom_pretrain.py): same model, data and
# schedule, so the difference in test Dice is what pre-training gives.
_base_ = ['./supervised_unetenc_phantom.py']
pretrain_config = 'configs/demo/ideal_unet_phantom_pretrain.py'
pretrained_encoder = 'work_dirs/ideal_unet_phantom_pretrain/encoder.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(
            _delete_=True, type='Pretrained', checkpoint=pretrained_encoder,
            prefix='backbone.')))
