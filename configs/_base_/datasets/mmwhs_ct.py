# MM-WHS 2017 CT (the data set as mmwhs.py describes it: nnU-Net layout,
# 8 classes, seeded 12 / 2 / 6 patient split, unlabelled imagesTs):
#   python tools/data/convert_mmwhs.py --src data/MMWHS \
#       --out data/MMWHS_CT --modality ct
# CT intensities: clipped to a fixed HU window and scaled to [0, 1]
# (nnU-Net clips CT to a fixed range); the window covers myocardium (~100
# HU) to contrast-enhanced blood (~300-500 HU) and drops bone / air detail.
#
# Children that change data_root, split_cfg or label_budget must set them in
# the dataloaders' `dataset` dicts too (mmengine substitutes variables when
# this file is read).
_base_ = ['./volume_slices.py']

dataset_type = 'NnUNetDataset'
split_cfg = dict(type='seeded', seed=0, num_val=2, num_test=6)
label_budget = 0.1

data_root = 'data/MMWHS_CT'
normalize = 'window'
intensity_window = (-200.0, 800.0)

__ct = dict(
    type=dataset_type,
    split_cfg=split_cfg,
    data_root=data_root,
    normalize=normalize,
    intensity_window=intensity_window)
train_dataloader = dict(dataset=dict(__ct, label_budget=label_budget))
val_dataloader = dict(dataset=__ct)
test_dataloader = dict(dataset=__ct)
