# IDEAL, UNet, MM-WHS CT, 10% of the 12 train patients labelled (the paper's
# budgets 10/20/40/100 %); the rest of the train split and the unlabelled
# challenge test volumes are the unlabelled pool.
_base_ = ['./unet_mmwhs-ct.py']
label_budget = 0.1
train_dataloader = dict(dataset=dict(label_budget=label_budget))
