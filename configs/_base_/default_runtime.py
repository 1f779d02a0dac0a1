# Runtime shared by every ideal_mm config (mmseg's default_runtime plus the
# plugin import). `ideal_mm.registration` registers all components into
# mmseg's registries; default_scope='mmseg' makes mmseg's own components
# available too.
default_scope = 'mmseg'
custom_imports = dict(
    imports=['ideal_mm.registration'], allow_failed_imports=False)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when CUDA is not available
    dist_cfg=dict(backend='nccl'),
)
# Validation pictures go to <work_dir>/<timestamp>/vis_data/vis_image; add
# dict(type='TensorboardVisBackend') to vis_backends for TensorBoard.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(
    type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
# Speed switches read by tools/train.py (same as --amp / --channels-last):
# amp = bf16 AmpOptimWrapper (GPU only), channels_last = ChannelsLastHook.
amp = False
channels_last = False

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=2000,
        save_best='mDice',
        rule='greater',
        max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # mmseg's SegVisualizationHook reads images with mmcv.imread; this one
    # reads slices from ideal_mm's volume cache (a few val slices per run).
    visualization=dict(
        type='ACDCVisualizationHook', draw=True, interval=10, max_samples=4),
    # Hooks every run needs. As default_hooks entries they survive a child's
    # `custom_hooks` (a list, which replaces the base's), and a child's
    # default_hooks dict merges into this one. Each keeps its class priority.
    # Stop at the first NaN/inf loss term, before that iteration is
    # checkpointed (NonFiniteLossHook: VERY_HIGH, CheckpointHook: VERY_LOW).
    nonfinite=dict(type='NonFiniteLossHook'),
    # With randomness=dict(seed=..., deterministic=True): reseed before every
    # batch, so a resumed run equals an uninterrupted one; otherwise inert.
    iter_seed=dict(type='IterSeedHook', deterministic_only=True),
    # Load every local Pretrained file (encoder.pth) after init_weights and
    # check that each of its tensors reached the model, also for backbones
    # whose own init_weights ignores `prefix` (ViT, BEiT, MAE, PIDNet);
    # check load_from's values the same way (docs/backbones.md).
    verified_init=dict(type='VerifiedInitHook'))
# Hooks of a method (samplers, EMA teachers, encoder export); a child's list
# replaces this one.
custom_hooks = []
