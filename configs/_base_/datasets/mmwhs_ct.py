# MM-WHS 2017 CT (mmwhs.py has the data set):
#   python tools/data/convert_mmwhs.py --src data/MMWHS --out data/MMWHS_CT --modality ct
# CT intensities: clipped to a fixed HU window and scaled to [0, 1]
# (nnU-Net clips CT to a fixed range); the window covers myocardium (~100
# HU) to contrast-enhanced blood (~300-500 HU) and drops bone / air detail.
#
# Children that change data_root must set it in the dataloaders' `dataset`
# dicts too (mmengine substitutes variables when this file is read).
_base_ = ['./mmwhs.py']

data_root = 'data/MMWHS_CT'
normalize = 'window'
intensity_window = (-200.0, 800.0)

__ct = dict(
    data_root=data_root, normalize=normalize,
    intensity_window=intensity_window)
train_dataloader = dict(dataset=__ct)
val_dataloader = dict(dataset=__ct)
test_dataloader = dict(dataset=__ct)
