# Supervised-only baseline on 2.5% of the 70 training patients (2 patients).
_base_ = ['./supervised_unet_1xb24-30k_acdc-7pat.py']
label_budget = 0.025
train_dataloader = dict(dataset=dict(label_budget=label_budget))
