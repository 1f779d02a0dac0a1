# The encoder swap of mitb0_acdc.py (mmseg's MiT-B0 (MixVisionTransformer) as the shared
# encoder, its stage-1 encoder.pth, 10 % labels) with the UniMatch-style
# stage-2 options of ideal_unimatch_unet_1xb24-30k_acdc-10pct.py
# (configs/_base_/models/stage2_options.py). Stage 1:
#   python tools/train.py configs/ideal/mitb0_acdc_pretrain.py
_base_ = ['./mitb0_acdc.py', '../_base_/models/stage2_options.py']

model = dict(
    semi_train_cfg=dict(
        **_base_.unimatch_options,
        max_consistency_weight=0.5,
        rampup_iters=3000))

# the training pipeline of unet_acdc.py plus the strong view
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='WeakStrongViews', num_strong=1),
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
