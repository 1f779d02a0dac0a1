# MM-WHS 2017 MRI (the data set as mmwhs.py describes it: nnU-Net layout,
# 8 classes, seeded 12 / 2 / 6 patient split, unlabelled imagesTs):
#   python tools/data/convert_mmwhs.py --src data/MMWHS \
#       --out data/MMWHS_MR --modality mr
# MRI intensities have no absolute scale: z-score per volume (nnU-Net's MR
# normalisation), no window.
#
# Children that change data_root, split_cfg or label_budget must set them in
# the dataloaders' `dataset` dicts too (mmengine substitutes variables when
# this file is read).
_base_ = ['./volume_slices.py']

dataset_type = 'NnUNetDataset'
split_cfg = dict(type='seeded', seed=0, num_val=2, num_test=6)
label_budget = 0.1

data_root = 'data/MMWHS_MR'
normalize = 'zscore'

__mr = dict(
    type=dataset_type,
    split_cfg=split_cfg,
    data_root=data_root,
    normalize=normalize)
train_dataloader = dict(dataset=dict(__mr, label_budget=label_budget))
val_dataloader = dict(dataset=__mr)
test_dataloader = dict(dataset=__mr)
