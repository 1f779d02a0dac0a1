# unet_acdc.py on 4 GPUs: 3 labelled + 3 unlabelled slices per GPU (24 in
# total, so the learning rate is unchanged) and SyncBN across GPUs.
#   bash tools/dist_train.sh configs/ideal/ideal_unet_4xb6-30k_acdc-10pct.py 4
# norm_cfg is substituted where the base file uses it, so every module that
# has a norm_cfg is set again here. tools/train.py turns SyncBN into BN for
# distributed runs without CUDA.
_base_ = ['./unet_acdc.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
labelled_per_batch = 3
unlabelled_per_batch = 3
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    decode_head_1=dict(norm_cfg=norm_cfg),
    decode_head_2=dict(norm_cfg=norm_cfg))
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    sampler=dict(
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch]))
