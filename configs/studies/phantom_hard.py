# Multi-seed comparison on the high-variability phantom (issues "Make IDEAL's
# pre-training pay off" and "Stage 2 must learn from unlabelled slices"):
#   python tools/analysis/study.py configs/studies/phantom_hard.py --jobs 2
# 40 phantom patients (seed 0, 128x128, --variability high): 24 train, 4 val,
# 12 test patients (24 test volumes); 96x96 input, 600 iterations, the demo
# configs; every run tested with its final checkpoint.
data_root = 'data/phantom_hard'
data = dict(
    root=data_root,
    generate=dict(
        num_patients=40, seed=0, size=(128, 128), variability='high'))
budgets = [1, 2]
seeds = [0, 1, 2, 3, 4]

cfg_options = {
    'train_dataloader.dataset.data_root': data_root,
    'train_dataloader.dataset.split_cfg.num_test': 12,
    'train_dataloader.num_workers': 1,
    'val_dataloader.dataset.data_root': data_root,
    'val_dataloader.dataset.split_cfg.num_test': 12,
    'val_dataloader.num_workers': 1,
    'test_dataloader.dataset.data_root': data_root,
    'test_dataloader.dataset.split_cfg.num_test': 12,
    'test_dataloader.num_workers': 1,
    # validate once at the end; test the final weights (no selection)
    'train_cfg.val_interval': 600,
    'default_hooks.checkpoint.interval': 200,
}
pretrain_cfg_options = {
    'train_dataloader.dataset.data_root': data_root,
    'train_dataloader.dataset.split_cfg.num_test': 12,
}
_semi = {'train_dataloader.dataset.oracle_labels': True}
methods = dict(
    supervised=dict(config='configs/demo/supervised_unet_phantom.py'),
    cps=dict(config='configs/demo/cps_unet_phantom.py', cfg_options=_semi),
    # stage 1 as configured: encoder.pth without the full-resolution stage
    ideal=dict(
        config='configs/demo/ideal_unet_phantom_finetune.py',
        pretrain='configs/demo/ideal_unet_phantom_pretrain.py',
        cfg_options=_semi),
    # the same stage-1 run, whole encoder transferred (as the paper does)
    ideal_whole_encoder=dict(
        config='configs/demo/ideal_unet_phantom_finetune.py',
        pretrain='configs/demo/ideal_unet_phantom_pretrain.py',
        pretrain_exclude=[],
        cfg_options=_semi),
    # IDEAL from the earlier stage 1 (lr 0.01 without warm-up, 300 iterations,
    # full-resolution stage left out)
    ideal_legacy_stage1=dict(
        config='configs/demo/ideal_unet_phantom_finetune.py',
        pretrain='configs/demo/ideal_unet_phantom_pretrain_legacy.py',
        cfg_options=_semi),
    # stage-2 options (issue 15): two streams from stage 1, from random
    # weights, and one stream
    ideal_unimatch=dict(
        config='configs/demo/ideal_unimatch_unet_phantom.py',
        pretrain='configs/demo/ideal_unet_phantom_pretrain.py',
        cfg_options=_semi),
    ideal_unimatch_whole_encoder=dict(
        config='configs/demo/ideal_unimatch_unet_phantom.py',
        pretrain='configs/demo/ideal_unet_phantom_pretrain.py',
        pretrain_exclude=[],
        cfg_options=_semi),
    # bidirectional copy-paste on IDEAL's two streams (plain cross terms on)
    ideal_bcp=dict(
        config='configs/demo/ideal_bcp_unet_phantom.py',
        pretrain='configs/demo/ideal_unet_phantom_pretrain.py',
        cfg_options=_semi),
    # the stage-1 encoder fine-tuned at a tenth of the decoders' learning
    # rate, the usual remedy when a pre-trained encoder overfits few labels
    ideal_unimatch_backbone_lr01=dict(
        config='configs/demo/ideal_unimatch_unet_phantom_backbone-lr0.1.py',
        pretrain='configs/demo/ideal_unet_phantom_pretrain.py',
        cfg_options=_semi),
    cps_unimatch=dict(
        config='configs/demo/cps_unimatch_unet_phantom.py', cfg_options=_semi),
    unimatch=dict(
        config='configs/demo/unimatch-style_unet_phantom.py',
        cfg_options=_semi),
    # MC-Net (Wu et al. 2021): bilinear + transposed-convolution decoders,
    # sharpened mutual consistency, no pre-training
    mcnet=dict(config='configs/demo/mcnet_unet_phantom.py', cfg_options=_semi),
    # Chaitanya et al. 2020: global contrastive pre-training of the encoder,
    # then local contrastive pre-training of decoder blocks 1-3 on the frozen
    # encoder (each from the previous stage's output), then supervised
    # fine-tuning of the whole network from pretrained.pth
    chaitanya=dict(
        config='configs/demo/chaitanya_unet_phantom.py',
        pretrain=[
            'configs/demo/chaitanya-global_unet_phantom.py',
            dict(
                config='configs/demo/chaitanya-local_unet_phantom.py',
                output='pretrained.pth')
        ],
        pretrain_key='model.init_cfg.checkpoint'),
    unimatch_published=dict(
        config='configs/demo/unimatch_unet_phantom.py', cfg_options=_semi),
    supervised_all=dict(
        config='configs/demo/supervised_unet_phantom.py', budgets=[24]),
    # BCP as its authors train it (issue 24): per budget and seed, the
    # labelled copy-paste phase (200 iterations, validated every 100; its
    # best checkpoint starts student and teacher), then 600 iterations of
    # self-training (BCP's 10k : 30k phase ratio), from random weights
    bcp=dict(
        config='configs/demo/bcp_unet_phantom.py',
        first=dict(
            config='configs/demo/bcp_labelled_unet_phantom.py',
            cfg_options={
                'train_cfg.val_interval': 100,
                'default_hooks.checkpoint.interval': 100
            })),
)
compare = [
    ('cps', 'supervised'), ('ideal', 'supervised'), ('ideal', 'cps'),
    ('ideal', 'ideal_whole_encoder'), ('ideal_whole_encoder', 'supervised'),
    ('ideal_whole_encoder', 'cps'), ('ideal_legacy_stage1', 'ideal'),
    ('unimatch', 'supervised'), ('cps_unimatch', 'unimatch'),
    ('ideal_unimatch', 'cps_unimatch'),
    ('ideal_unimatch_whole_encoder', 'cps_unimatch'),
    ('ideal_unimatch', 'supervised'), ('ideal_unimatch', 'ideal'),
    ('ideal_unimatch', 'unimatch'), ('cps_unimatch', 'supervised'),
    ('ideal_bcp', 'ideal'), ('ideal_bcp', 'supervised'),
    ('ideal_unimatch_backbone_lr01', 'ideal_unimatch'),
    ('ideal_unimatch_backbone_lr01', 'cps_unimatch'),
    ('ideal_unimatch_backbone_lr01', 'supervised'), ('ideal_bcp', 'cps'),
    ('ideal_bcp', 'unimatch'), ('ideal_bcp', 'ideal_unimatch_backbone_lr01'),
    ('bcp', 'supervised'), ('bcp', 'ideal'), ('bcp', 'ideal_bcp'),
    ('mcnet', 'supervised'), ('mcnet', 'ideal'), ('chaitanya', 'supervised'),
    ('ideal', 'chaitanya'), ('unimatch_published', 'supervised'),
    ('unimatch_published', 'unimatch')
]
