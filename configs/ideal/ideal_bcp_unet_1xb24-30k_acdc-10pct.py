# IDEAL with bidirectional copy-paste (BCP, Bai et al. 2023) composed with
# IDEAL's two streams, 10 % labels (7 of the 70 SSL4MIS training patients).
# Every unlabelled slice swaps a box of 2/3 the image side with a labelled
# slice, both ways; the mixed targets join the labelled slice's ground truth
# and the other stream's pseudo-label. The plain cross pseudo-label term stays
# on. Everything else as unet_acdc.py.
_base_ = ['./unet_acdc.py']

model = dict(
    semi_train_cfg=dict(
        copy_paste=dict(prob=1.0, ratio=2 / 3),
        max_consistency_weight=0.5,
        rampup_iters=3000))
