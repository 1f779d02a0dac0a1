# IDEAL stage 1 on MM-WHS MRI: the dense contrastive pre-training of
# configs/ideal/unet_acdc_pretrain.py (model, views, schedule, the
# full-resolution stage at a tenth of the learning rate and left out of
# encoder.pth) on every slice of the train patients and
# of the unlabelled challenge test volumes (imagesTs); labels never loaded.
# -> work_dirs/unet_mmwhs-mr_pretrain/encoder.pth for unet_mmwhs-mr.py.
_base_ = [
    '../_base_/models/ideal_unet_pretrainer.py',
    '../_base_/datasets/acdc_pretrain.py', '../_base_/default_runtime.py',
    '../_base_/schedules/pretrain_20k.py'
]

data_root = 'data/MMWHS_MR'
split_cfg = dict(type='seeded', seed=0, num_val=2, num_test=6)
mmwhs_dataset = dict(
    type='NnUNetDataset',
    data_root=data_root,
    split_cfg=split_cfg,
    normalize='zscore')
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        split='train',
        subset='all',
        pipeline={{_base_.train_pipeline}},
        **mmwhs_dataset))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(
        _delete_=True,
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        max_keep_ckpts=2))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone.encoder.0.': dict(lr_mult=0.1)}))
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(
        type='ExportEncoderHook',
        filename='encoder.pth',
        exclude=['encoder.0.'])
]
