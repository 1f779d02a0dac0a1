# ideal_unimatch_unet_phantom.py with the stage-1 encoder fine-tuned at a
# tenth of the decoders' learning rate: the usual remedy when a pre-trained
# encoder overfits a few labelled patients (measured on the hard phantom,
# where fine-tuning from stage 1 fits the labelled patient faster and tests
# lower than from random weights; docs/paper_to_code.md).
_base_ = ['./ideal_unimatch_unet_phantom.py']

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone.': dict(lr_mult=0.1)}))
