# IDEAL, UNet, all 70 training patients labelled. With no unlabelled slices
# the two-source sampler does not apply: batches of 24 labelled slices from
# mmengine's InfiniteSampler, and the cross pseudo supervision runs on the
# labelled slices themselves (unsup_on='all') next to CE + Dice, so the method
# is the same two-stream model as at the lower budgets.
_base_ = ['./unet_acdc.py']
label_budget = 1.0
model = dict(semi_train_cfg=dict(unsup_on='all'))
train_dataloader = dict(
    batch_size=24,
    sampler=dict(_delete_=True, type='InfiniteSampler', shuffle=True),
    dataset=dict(subset='labelled', label_budget=label_budget))
