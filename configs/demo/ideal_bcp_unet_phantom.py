# IDEAL stage 2 with bidirectional copy-paste (BCP, Bai et al. 2023) composed
# with IDEAL's two streams, on phantom ACDC: every unlabelled slice swaps a
# box of 2/3 the image side with a labelled slice, both ways; the mixed
# targets join the labelled slice's ground truth and the other stream's
# pseudo-label. The plain cross pseudo-label term stays on. Same split,
# batches and schedule as ideal_unet_phantom_finetune.py.
_base_ = ['./ideal_unet_phantom_finetune.py']

model = dict(
    semi_train_cfg=dict(
        copy_paste=dict(prob=1.0, ratio=2 / 3),
        max_consistency_weight=0.5,
        rampup_iters=150))
