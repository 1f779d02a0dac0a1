# MM-WHS 2017 (the IDEAL paper's second data set), either modality, after
#   python tools/data/convert_mmwhs.py --src data/MMWHS \
#       --out data/MMWHS_<CT|MR> --modality <ct|mr>
# an nnU-Net v2 raw folder: 20 labelled volumes (imagesTr/labelsTr, 8
# classes: background, Myo, LA, LV, RA, RV, AA, PA) and the 40 unlabelled
# challenge test volumes (imagesTs), which join the unlabelled pool.
# Patient-level split, seeded: 12 train / 2 val / 6 test volumes (one volume
# per patient); label budgets are fractions of the 12 train patients.
# Axial slices (the NIfTI Z axis) at 256x256 (volume_slices.py).
# The modality (data_root and intensity normalisation) is set by
# mmwhs_ct.py / mmwhs_mr.py, which repeat the data set fields below next to
# it (each inherits volume_slices.py directly, so that a config using them
# stays two `_base_` levels deep); configs inherit one of those. This file is
# the modality-neutral form (a config setting data_root itself).
#
# Children that change split_cfg / label_budget must set them in the
# dataloaders' `dataset` dicts too (mmengine substitutes variables when this
# file is read; see acdc.py).
_base_ = ['./volume_slices.py']

dataset_type = 'NnUNetDataset'
split_cfg = dict(type='seeded', seed=0, num_val=2, num_test=6)
label_budget = 0.1

__whs = dict(type=dataset_type, split_cfg=split_cfg)
train_dataloader = dict(dataset=dict(__whs, label_budget=label_budget))
val_dataloader = dict(dataset=__whs)
test_dataloader = dict(dataset=__whs)
