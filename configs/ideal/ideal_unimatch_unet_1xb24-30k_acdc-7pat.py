# IDEAL + unimatch options (see ideal_unimatch_unet_1xb24-30k_acdc-10pct.py), label
# budget 7pat of the 70 SSL4MIS training patients.
_base_ = ['./ideal_unimatch_unet_1xb24-30k_acdc-10pct.py']
label_budget = 7
train_dataloader = dict(dataset=dict(label_budget=label_budget))
