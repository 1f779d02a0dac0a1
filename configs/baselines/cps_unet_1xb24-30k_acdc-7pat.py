# Cross pseudo supervision baseline: the IDEAL model of
# configs/ideal/unet_acdc.py (shared UNet encoder, bilinear vs
# transposed-convolution UNet decoders, CE + Dice, ramped CPS on unlabelled
# slices), trained from scratch: no stage-1 pre-training. Same data (7
# labelled patients = 10%, SSL4MIS split), batches and schedule, so
# "IDEAL - CPS" measures the dense contrastive pre-training alone.
# (SSL4MIS's CPS uses two separate networks; here the encoder is shared so
# that the only difference to IDEAL is the initialisation.)
_base_ = ['../ideal/unet_acdc.py']
pretrained_encoder = None
label_budget = 7
model = dict(backbone=dict(init_cfg=None))
train_dataloader = dict(dataset=dict(label_budget=label_budget))
