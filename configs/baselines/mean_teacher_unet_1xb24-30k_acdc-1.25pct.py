# Mean teacher baseline, labels: 1.25% of the 70 training patients
# (round(0.875) -> 1 patient), the paper's smallest budget.
_base_ = [
    '../_base_/models/mean_teacher_unet.py', '../_base_/datasets/acdc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]

label_budget = 0.0125
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
custom_hooks = [
    dict(type='SemiSupSamplerHook'),
    dict(type='MeanTeacherHook'),
]
