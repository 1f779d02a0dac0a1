# Pre-training schedule: SGD lr 0.01, momentum 0.9, weight decay 1e-4, poly
# decay over 20k iterations; no validation (the pre-training model makes no
# predictions), a checkpoint every 2k iterations.
max_iters = 20000
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=0.9,
        begin=0,
        end=max_iters,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_cfg = None
test_cfg = None
