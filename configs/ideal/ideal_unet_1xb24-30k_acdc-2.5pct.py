# IDEAL, UNet: 2.5% of the 70 training patients labelled (round(1.75) -> 2 patients);
# every other training patient unlabelled. Everything else as unet_acdc.py.
_base_ = ['./unet_acdc.py']
label_budget = 0.025
train_dataloader = dict(dataset=dict(label_budget=label_budget))
