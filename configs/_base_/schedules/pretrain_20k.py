# Pre-training schedule: SGD lr 0.01, momentum 0.9, weight decay 1e-4, a
# linear warm-up over the first 1000 iterations (5 %) then poly decay over
# 20k iterations; no validation (the pre-training model makes no
# predictions). Why the warm-up: configs/ideal/unet_acdc_pretrain.py.
max_iters = 20000
warmup_iters = 1000
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=False,
        begin=0,
        end=warmup_iters),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=warmup_iters,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_cfg = None
test_cfg = None
