# unet_acdc.py on 4 GPUs: 3 labelled + 3 unlabelled slices per GPU (24 in
# total, so the learning rate is unchanged) and SyncBN across GPUs.
#   bash tools/dist_train.sh configs/ideal/ideal_unet_4xb6-30k_acdc-10pct.py 4
# norm_cfg is substituted where the model base uses it, so every module that
# has a norm_cfg is set again here. tools/train.py turns SyncBN into BN for
# distributed runs without CUDA.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py'
]

pretrain_config = 'configs/ideal/unet_acdc_pretrain.py'
pretrained_encoder = 'work_dirs/unet_acdc_pretrain/encoder.pth'
label_budget = 0.1
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    segmentor=dict(
        backbone=dict(
            norm_cfg=norm_cfg,
            init_cfg=dict(
                type='Pretrained',
                checkpoint=pretrained_encoder,
                prefix='backbone.')),
        decode_head=dict(norm_cfg=norm_cfg)),
    decode_head_2=dict(norm_cfg=norm_cfg))
labelled_per_batch = 3
unlabelled_per_batch = 3
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(subset='all', label_budget=label_budget))
custom_hooks = [dict(type='SemiSupSamplerHook')]
