# BCP phase 2, self-training (code/ACDC_BCP_train.py self_train),
# 3 labelled patients (SSL4MIS split; BCP: 68 slices):
# batches of 12 labelled + 12 unlabelled slices, EMA teacher (0.99),
# pseudo-labels = teacher argmax + largest component per class, the mixed
# loss only; SGD 0.01 at a constant lr, 30k iterations, validation every 200.
# Student and teacher start from phase 1's best checkpoint:
#   P1=bcp_unet_1xb12-10k_acdc-3pat-labelled
#   python tools/train.py configs/baselines/$P1.py
#   python tools/train.py configs/baselines/bcp_unet_1xb24-30k_acdc-3pat.py \
#     --cfg-options model.segmentor.init_cfg.checkpoint=$(\
#     python tools/best_checkpoint.py work_dirs/$P1)
_base_ = [
    '../_base_/models/bcp_unet.py', '../_base_/datasets/acdc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_bcp.py'
]
pretrain_config = ('configs/baselines/'
                   'bcp_unet_1xb12-10k_acdc-3pat-labelled.py')
# phase 1's best checkpoint; N is its iteration (tools/best_checkpoint.py)
labelled_checkpoint = ('work_dirs/bcp_unet_1xb12-10k_acdc-3pat-labelled/'
                       'best_mDice_iter_N.pth')
label_budget = 3
labelled_per_batch = 12
unlabelled_per_batch = 12
model = dict(
    segmentor=dict(
        init_cfg=dict(
            type='Pretrained',
            checkpoint=labelled_checkpoint,
            prefix='student.')))
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(subset='all', label_budget=label_budget))
custom_hooks = [
    dict(type='SemiSupSamplerHook'),
    dict(type='MeanTeacherHook'),
]
default_hooks = dict(checkpoint=dict(interval={{_base_.val_interval}}))
