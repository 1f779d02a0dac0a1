# IDEAL stage 1's model: dense contrastive pre-training of the IDEAL encoder
# (ideal_unet_encoder.py). Two views per slice (TwoViewDataPreprocessor); a
# dense projection head on the encoder output (deepest level, 1/16, 256
# channels -> 128-d embeddings, 1x1 convolutions) and the dense contrastive
# loss (InfoNCE, tau 0.1, 256 locations per image, plus the metric
# (dis)similarity term with margin 0.5); the key branch is an EMA copy
# (mmengine momentum 0.01 = MoCo's 0.99).
_base_ = ['./ideal_unet_encoder.py']
model = dict(
    type='DenseContrastivePretrainer',
    data_preprocessor=dict(type='TwoViewDataPreprocessor'),
    proj_head=dict(
        type='DenseConvProjHead',
        in_channels=256,
        in_index=-1,
        channels=128,
        norm_cfg={{_base_.norm_cfg}}),
    loss=dict(
        type='DenseContrastiveLoss',
        tau=0.1,
        num_samples=256,
        margin=0.5,
        infonce_weight=1.0,
        metric_weight=1.0,
        symmetric=True,
        loss_name='loss_dense'),
    key_branch='ema',
    momentum=0.01,  # mmengine convention: MoCo's 0.99
    # image-level term of the "global vs dense" comparison (off):
    # global_head=dict(type='GlobalProjHead', in_channels=256),
    # global_loss=dict(type='GlobalContrastiveLoss', tau=0.1),
)
