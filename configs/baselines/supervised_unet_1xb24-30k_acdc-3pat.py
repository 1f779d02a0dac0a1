# Supervised-only baseline on the 3 labelled patients of the SSL4MIS protocol.
_base_ = ['./supervised_unet_1xb24-30k_acdc-7pat.py']
label_budget = 3
train_dataloader = dict(dataset=dict(label_budget=label_budget))
