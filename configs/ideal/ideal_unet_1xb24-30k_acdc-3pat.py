# IDEAL, UNet: 3 labelled patients (SSL4MIS protocol);
# every other training patient unlabelled. Everything else as unet_acdc.py.
_base_ = ['./unet_acdc.py']
label_budget = 3
train_dataloader = dict(dataset=dict(label_budget=label_budget))
