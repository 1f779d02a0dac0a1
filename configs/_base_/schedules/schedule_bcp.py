# BCP's optimisation (code/ACDC_BCP_train.py 223, 330): SGD lr 0.01,
# momentum 0.9, weight decay 1e-4 at a *constant* lr (BCP never changes it):
# mmengine's ConstantLR with factor 1.0, a no-op written out so that tools
# that re-end the first scheduler (a study's param_scheduler.0.end) find one;
# validation every 200 iterations (BCP 287, 428); default_runtime.py's
# CheckpointHook keeps the best mDice checkpoint (save_best='mDice'), the
# configs checkpoint every val_interval. 30k iterations (self-training); the
# labelled phase sets max_iters = 10000.
max_iters = 30000
val_interval = 200
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(
        type='ConstantLR', factor=1.0, begin=0, end=max_iters, by_epoch=False)
]
train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
