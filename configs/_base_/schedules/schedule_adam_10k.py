# Chaitanya et al. 2020's pre-training schedule (domain_specific_cl
# train_model/*.py: Adam lr 1e-3, n_iter 10001): Adam at a constant learning
# rate for 10k iterations; no validation (pre-training models make no
# predictions), a checkpoint every 2k iterations.
max_iters = 10000
optimizer = dict(type='Adam', lr=1e-3)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = []
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
val_cfg = None
test_cfg = None
