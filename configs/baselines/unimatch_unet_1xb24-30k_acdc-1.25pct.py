# Single-stream UniMatch-style baseline (no pre-training), label budget 1.25pct.
_base_ = ['./unimatch_unet_1xb24-30k_acdc-7pat.py']
label_budget = 0.0125
train_dataloader = dict(dataset=dict(label_budget=label_budget))
