# IDEAL stage 2 with bidirectional copy-paste (BCP, Bai et al. 2023) composed
# with IDEAL's two streams, on phantom ACDC (bcp_branches of
# configs/_base_/models/stage2_options.py, with the pseudo-label guards:
# without them the pseudo-labels went all background on the hard phantom;
# docs/paper_to_code.md has the measurement). Same split, batches and
# schedule as ideal_unet_phantom_finetune.py.
_base_ = [
    '../_base_/models/ideal_unet_two_decoders.py',
    '../_base_/datasets/acdc_phantom.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_600.py', '../_base_/models/stage2_options.py'
]

pretrain_config = 'configs/demo/ideal_unet_phantom_pretrain.py'
pretrained_encoder = 'work_dirs/ideal_unet_phantom_pretrain/encoder.pth'

model = dict(
    segmentor=dict(
        backbone=dict(
            init_cfg=dict(
                type='Pretrained',
                checkpoint=pretrained_encoder,
                prefix='backbone.'))),
    unsup_branches=_base_.bcp_branches,
    pseudo_label_filters=_base_.guarded_filters,
    semi_train_cfg=dict(
        **_base_.guarded_pseudo_labels,
        max_consistency_weight=0.5,
        rampup_iters=150))

# acdc_phantom.py's training pipeline,
# packed with the hidden label of unlabelled slices when the dataset has
# oracle_labels=True (logged as oracle.*, never trained on)
train_pipeline = [
    dict(
        type='LoadACDCSlice',
        with_label=True,
        max_open=_base_.max_open_volumes),
    dict(
        type='RandomAffineResize',
        out_size=_base_.crop_size,
        rotate_prob=0.5,
        rotate_range=20,
        flip_prob=0.5,
        flip_direction=['horizontal', 'vertical']),
    dict(type='RandomIntensity'),
    dict(type='PackSemiSegInputs', meta_keys=_base_.meta_keys),
]
labelled_per_batch = 4
unlabelled_per_batch = 4
# One ACDCDataset over every train patient, grouped into labelled and
# unlabelled slices by the sampler (as configs/ideal/unet_acdc.py).
train_dataloader = dict(
    batch_size=labelled_per_batch + unlabelled_per_batch,
    pin_memory=False,
    sampler=dict(
        _delete_=True,
        type='SemiSupMultiSourceSampler',
        batch_size=labelled_per_batch + unlabelled_per_batch,
        source_ratio=[labelled_per_batch, unlabelled_per_batch],
        shuffle=True),
    dataset=dict(subset='all', pipeline=train_pipeline))
val_dataloader = dict(pin_memory=False)
test_dataloader = val_dataloader
custom_hooks = [dict(type='SemiSupSamplerHook')]

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval={{_base_.val_interval}}, max_keep_ckpts=1))
