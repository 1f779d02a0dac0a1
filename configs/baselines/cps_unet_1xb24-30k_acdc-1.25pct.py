# Cross pseudo supervision baseline (no pre-training), 1.25% (1 patient) labelled.
_base_ = ['./cps_unet_1xb24-30k_acdc-7pat.py']
label_budget = 0.0125
train_dataloader = dict(dataset=dict(label_budget=label_budget))
