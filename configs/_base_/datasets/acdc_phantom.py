# Phantom ACDC (tools/data/make_phantom_acdc.py --out data/phantom_acdc) for
# CPU demos: a seeded patient split of whatever patients were generated,
# 96x96 network input, small batches. The demo configs (configs/demo/) take
# their data from here.
#
# mmengine substituted acdc.py's crop_size / data_root / split_cfg /
# label_budget into its pipelines and dataloaders when it read that file, so
# the pipelines are rebuilt at this crop size and the dataloaders' `dataset`
# dicts get these values again below. A config inheriting from this file
# must do the same for what it changes.
_base_ = ['./acdc.py']

data_root = 'data/phantom_acdc'
split_cfg = dict(type='seeded', seed=0, num_val=4, num_test=8)
label_budget = 2
crop_size = (96, 96)  # square, divisible by 16 (4 UNet downsamplings)

# acdc.py's pipelines at this crop size: only RandomAffineResize.out_size and
# Resize.scale depend on it.
__size_keys = dict(RandomAffineResize='out_size', Resize='scale')
train_pipeline, unlabelled_pipeline, test_pipeline = [[
    dict(t, **{__size_keys[t.type]: crop_size})
    if t.type in __size_keys else t for t in pipeline
] for pipeline in (_base_.train_pipeline, _base_.unlabelled_pipeline,
                   _base_.test_pipeline)]

__phantom = dict(data_root=data_root, split_cfg=split_cfg)
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        __phantom, label_budget=label_budget, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=2,
    dataset=dict(__phantom, pipeline=test_pipeline))
test_dataloader = val_dataloader
