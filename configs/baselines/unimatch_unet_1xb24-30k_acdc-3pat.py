# Single-stream UniMatch-style baseline (no pre-training), label budget 3pat.
_base_ = ['./unimatch_unet_1xb24-30k_acdc-7pat.py']
label_budget = 3
train_dataloader = dict(dataset=dict(label_budget=label_budget))
