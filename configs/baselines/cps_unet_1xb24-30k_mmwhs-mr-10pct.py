# Cross pseudo supervision baseline on MM-WHS MRI, 10% labelled: the IDEAL
# model of configs/ideal/unet_mmwhs-mr.py trained from scratch (no
# stage 1), so "IDEAL - CPS" measures the pre-training alone.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/mmwhs_mr.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_30k.py'
]

label_budget = 0.1
num_classes = 8
model = dict(
    segmentor=dict(
        backbone=dict(init_cfg=None),  # from scratch
        decode_head=dict(num_classes=num_classes)),
    decode_head_2=dict(num_classes=num_classes))
labelled_per_batch = 12
unlabelled_per_batch = 12
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
