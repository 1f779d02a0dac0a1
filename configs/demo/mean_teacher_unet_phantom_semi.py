# CPU demo: the mean-teacher baseline
# (configs/baselines/mean_teacher_unet_1xb24-30k_acdc-7pat.py) on phantom
# ACDC, same data, batches (4 + 4) and schedule as
# ideal_unet_phantom_finetune.py; consistency ramp-up over 150 iterations.
_base_ = ['./ideal_unet_phantom_finetune.py']
pretrained_encoder = None
# The student: the IDEAL encoder from scratch and IDEAL's stream-1 decoder
# (bilinear), both from _base_/models/ideal_unet_two_decoders.py.
model = dict(
    _delete_=True,
    type='MeanTeacherSemiSupModel',
    data_preprocessor=_base_.data_preprocessor,
    segmentor=dict(
        backbone=dict(_base_.model.backbone, init_cfg=None),
        decode_head=_base_.model.decode_head_1,
        test_cfg=dict(mode='whole')),
    semi_train_cfg=dict(
        rampup_iters=150, max_consistency_weight=0.1, ema_momentum=0.01),
    semi_test_cfg=dict(predict_on='student'))
custom_hooks = [
    dict(type='SemiSupSamplerHook'),
    dict(type='MeanTeacherHook'),
]
