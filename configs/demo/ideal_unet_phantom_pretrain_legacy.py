# The demo pre-training as it was before the stage-1 fix, kept to reproduce
# the comparison in docs/paper_to_code.md: SGD lr 0.01 from the first
# iteration (no warm-up, the same lr for every stage), 300 iterations, and
# encoder.pth without the full-resolution stage (exclude=['encoder.0.']),
# and the correspondence of that time (cells centre-aligned, key points valid
# up to the view border).
_base_ = ['./ideal_unet_phantom_pretrain.py']

model = dict(cell_geometry='centre-aligned')

max_iters = 300
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9,
                                    weight_decay=1e-4))
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(checkpoint=dict(interval=max_iters))
custom_hooks = [
    dict(type='MeanTeacherHook'),  # steps the EMA key branch
    dict(type='ExportEncoderHook', filename='encoder.pth',
         exclude=['encoder.0.'])
]
