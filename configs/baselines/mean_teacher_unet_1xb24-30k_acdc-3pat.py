# Mean teacher baseline, 3 labelled patients.
_base_ = ['./mean_teacher_unet_1xb24-30k_acdc-7pat.py']
label_budget = 3
train_dataloader = dict(dataset=dict(label_budget=label_budget))
