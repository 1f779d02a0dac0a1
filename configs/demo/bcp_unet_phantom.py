# CPU demo of BCP phase 2, self-training
# (configs/baselines/bcp_unet_1xb24-30k_acdc-7pat.py) on phantom ACDC:
# 4 labelled + 4 unlabelled slices per step, 600 iterations at a constant
# lr, validation every 100 keeping the best mDice checkpoint. Student and
# teacher start from configs/demo/bcp_labelled_unet_phantom.py's best:
#   python tools/train.py configs/demo/bcp_labelled_unet_phantom.py
#   python tools/train.py configs/demo/bcp_unet_phantom.py --cfg-options \
#     model.segmentor.init_cfg.checkpoint=$(python tools/best_checkpoint.py \
#     work_dirs/bcp_labelled_unet_phantom)
_base_ = [
    '../_base_/models/bcp_unet.py', '../_base_/datasets/acdc_phantom.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_bcp.py'
]
pretrain_config = 'configs/demo/bcp_labelled_unet_phantom.py'
# phase 1's best checkpoint; N is its iteration (tools/best_checkpoint.py)
labelled_checkpoint = \
    'work_dirs/bcp_labelled_unet_phantom/best_mDice_iter_N.pth'
max_iters = 600
val_interval = 100
labelled_per_batch = 4
unlabelled_per_batch = 4
model = dict(
    segmentor=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint=labelled_checkpoint,
            prefix='student.')))
train_cfg = dict(max_iters=max_iters, val_interval=val_interval)
# acdc_phantom.py's training pipeline, packed with the hidden label of
# unlabelled slices when the dataset has oracle_labels=True (never trained on)
train_pipeline = [
    *_base_.train_pipeline[:-1],
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    pin_memory=False,
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(subset='all', pipeline=train_pipeline))
val_dataloader = dict(pin_memory=False)
test_dataloader = val_dataloader
custom_hooks = [
    dict(type='SemiSupSamplerHook'),
    dict(type='MeanTeacherHook'),
]
default_hooks = dict(
    logger=dict(interval=50), checkpoint=dict(interval=val_interval))
