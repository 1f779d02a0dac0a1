# Supervised-only baseline on 1.25% of the 70 training patients (1 patient), the paper's smallest budget.
_base_ = ['./supervised_unet_1xb24-30k_acdc-7pat.py']
label_budget = 0.0125
train_dataloader = dict(dataset=dict(label_budget=label_budget))
