# IDEAL with the unlabelled-signal options of BiConsistencySemiSupModel
# (UniMatch-style, composed with IDEAL's two streams), 10 % labels (7 of the
# 70 SSL4MIS training patients). Everything else as unet_acdc.py (pre-trained
# encoder, two UNet decoders, 12 + 12 slices of 256x256, 30k iterations).
# Each stream's weak-view pseudo-label with confidence >= 0.95 supervises the
# other stream on a strongly perturbed view (gamma, contrast, brightness,
# noise, blur; CutMix between unlabelled slices with p = 0.5) and on a
# feature-perturbed branch (Dropout2d(0.5) on every encoder level); weight
# ramped to 1.0 over 3k iterations. The paper's plain form is unet_acdc.py.
_base_ = ['./unet_acdc.py']

model = dict(
    semi_train_cfg=dict(
        strong_views=1,
        cutmix_prob=0.5,
        feature_dropout=0.5,
        conf_threshold=0.95,
        max_consistency_weight=1.0,
        rampup_iters=3000))

train_pipeline = [
    dict(type='LoadACDCSlice', with_label=True,
         max_open={{_base_.max_open_volumes}}),
    dict(
        type='RandomAffineResize',
        out_size={{_base_.crop_size}},
        rotate_prob=0.5,
        rotate_range=20,
        flip_prob=0.5,
        flip_direction=['horizontal', 'vertical']),
    dict(type='RandomIntensity'),
    dict(type='WeakStrongViews', num_strong=1),
    dict(type='PackSemiSegInputs', meta_keys={{_base_.meta_keys}}),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
