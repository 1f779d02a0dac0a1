# IDEAL, UNet, 10% of the 70 training patients labelled (7): the paper's
# headline setting, identical to unet_acdc.py (named for the results table).
_base_ = ['./unet_acdc.py']
