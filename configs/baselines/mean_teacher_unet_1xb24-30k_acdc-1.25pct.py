# Mean teacher baseline, 1.25% (1 patient) labelled.
_base_ = ['./mean_teacher_unet_1xb24-30k_acdc-7pat.py']
label_budget = 0.0125
train_dataloader = dict(dataset=dict(label_budget=label_budget))
