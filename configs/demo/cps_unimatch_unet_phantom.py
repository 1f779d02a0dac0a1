# CPU demo: IDEAL's two streams with the UniMatch-style options
# (ideal_unimatch_unet_phantom.py) from random weights, no stage 1: with
# unimatch-style_unet_phantom.py (one stream) and ideal_unimatch_unet_phantom.py
# (stage-1 encoder) it separates what the second stream and the pre-training
# each add.
_base_ = ['./ideal_unimatch_unet_phantom.py']
pretrained_encoder = None
model = dict(backbone=dict(init_cfg=None))
