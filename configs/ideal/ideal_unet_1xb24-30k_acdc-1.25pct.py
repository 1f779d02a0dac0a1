# IDEAL, UNet: 1.25% of the 70 training patients labelled (round(0.875) -> 1 patient), the paper's smallest budget;
# every other training patient unlabelled. Everything else as unet_acdc.py.
_base_ = ['./unet_acdc.py']
label_budget = 0.0125
train_dataloader = dict(dataset=dict(label_budget=label_budget))
