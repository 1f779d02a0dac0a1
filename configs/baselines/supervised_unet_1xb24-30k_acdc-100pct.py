# Supervised-only baseline on all 70 training patients (the fully supervised upper bound).
_base_ = ['./supervised_unet_1xb24-30k_acdc-7pat.py']
label_budget = 1.0
train_dataloader = dict(dataset=dict(label_budget=label_budget))
