# IDEAL + bcp options (see ideal_bcp_unet_1xb24-30k_acdc-10pct.py), label
# budget 2.5pct of the 70 SSL4MIS training patients.
_base_ = ['./ideal_bcp_unet_1xb24-30k_acdc-10pct.py']
label_budget = 0.025
train_dataloader = dict(dataset=dict(label_budget=label_budget))
