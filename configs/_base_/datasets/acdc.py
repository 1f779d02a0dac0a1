# ACDC (raw NIfTI download at data/ACDC: training/ and testing/ patient
# folders), SSL4MIS patient split (70 train / 10 val / 20 test), 7 labelled
# patients. Slices are loaded from the normalised volume cache that
# ACDCDataset builds on first use (data/ACDC/.ideal_mm_cache/). Network size,
# pipelines and loader settings: volume_slices.py.
#
# Downstream configs override the variables below. mmengine merges a child's
# dicts into these, but a variable used *inside* another one (data_root /
# split_cfg / label_budget in the dataloaders) is substituted when this file
# is read: a child that changes data_root, split_cfg or label_budget must set
# them in the dataloaders' `dataset` dicts too (see acdc_phantom.py).
_base_ = ['./volume_slices.py']

dataset_type = 'ACDCDataset'
data_root = 'data/ACDC'
source = 'raw'
split_cfg = dict(type='ssl4mis')
label_budget = 7

# Unlabelled slices: the training augmentation, labels never loaded.
unlabelled_pipeline = [
    dict(_base_.train_pipeline[0], with_label=False),
    *_base_.train_pipeline[1:],
]

__acdc = dict(
    type=dataset_type, data_root=data_root, source=source, split_cfg=split_cfg)
train_dataloader = dict(dataset=dict(__acdc, label_budget=label_budget))
val_dataloader = dict(dataset=__acdc)
test_dataloader = dict(dataset=__acdc)
