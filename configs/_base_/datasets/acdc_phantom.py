# Phantom ACDC (tools/data/make_phantom_acdc.py --out data/phantom_acdc) for
# CPU demos: a seeded patient split of whatever patients were generated,
# 96x96 network input, small batches. The demo configs (configs/demo/) take
# their data from here.
#
# The data set is acdc.py's (ACDCDataset, raw NIfTI); volume_slices.py
# substituted its crop_size into the pipelines when it was read, so they are
# rebuilt at this crop size below. A config inheriting from this file must do
# the same for what it changes.
_base_ = ['./volume_slices.py']

dataset_type = 'ACDCDataset'
source = 'raw'
data_root = 'data/phantom_acdc'
split_cfg = dict(type='seeded', seed=0, num_val=4, num_test=8)
label_budget = 2
crop_size = (96, 96)  # square, divisible by 16 (4 UNet downsamplings)

# volume_slices.py's pipelines at this crop size: only
# RandomAffineResize.out_size and Resize.scale depend on it. Unlabelled
# slices (as acdc.py): the training augmentation, labels never loaded.
__size_keys = dict(RandomAffineResize='out_size', Resize='scale')
train_pipeline, test_pipeline = [[
    dict(t, **{__size_keys[t.type]: crop_size}) if t.type in __size_keys else t
    for t in pipeline
] for pipeline in (_base_.train_pipeline, _base_.test_pipeline)]
unlabelled_pipeline = [
    dict(train_pipeline[0], with_label=False),
    *train_pipeline[1:],
]

__phantom = dict(
    type=dataset_type, data_root=data_root, source=source, split_cfg=split_cfg)
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(
        __phantom, label_budget=label_budget, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    dataset=dict(__phantom, pipeline=test_pipeline))
test_dataloader = val_dataloader
