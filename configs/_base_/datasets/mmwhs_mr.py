# MM-WHS 2017 MRI (mmwhs.py has the data set):
#   python tools/data/convert_mmwhs.py --src data/MMWHS --out data/MMWHS_MR --modality mr
# MRI intensities have no absolute scale: z-score per volume (nnU-Net's MR
# normalisation), no window.
#
# Children that change data_root must set it in the dataloaders' `dataset`
# dicts too (mmengine substitutes variables when this file is read).
_base_ = ['./mmwhs.py']

data_root = 'data/MMWHS_MR'
normalize = 'zscore'

__mr = dict(data_root=data_root, normalize=normalize)
train_dataloader = dict(dataset=__mr)
val_dataloader = dict(dataset=__mr)
test_dataloader = dict(dataset=__mr)
