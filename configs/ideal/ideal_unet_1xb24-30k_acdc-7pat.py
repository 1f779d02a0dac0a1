# IDEAL, UNet: 7 labelled patients (SSL4MIS protocol; = 10%);
# every other training patient unlabelled. Everything else as unet_acdc.py.
_base_ = ['./unet_acdc.py']
label_budget = 7
train_dataloader = dict(dataset=dict(label_budget=label_budget))
