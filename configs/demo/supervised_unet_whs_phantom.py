# CPU demo on a data set other than ACDC: the supervised baseline on the
# whole-heart phantom in nnU-Net layout (8 classes: background, Myo, LA, LV,
# RA, RV, AA, PA; CT-like intensities in HU):
#   python tools/data/make_phantom_whs.py --out data/phantom_whs
#   python tools/train.py configs/demo/supervised_unet_whs_phantom.py
# The data set part is configs/_base_/datasets/mmwhs_ct.py (NnUNetDataset,
# HU window, classes from dataset.json) pointed at the phantom, with the
# batches of configs/_base_/datasets/acdc_phantom.py; the schedule of
# supervised_unet_phantom.py. mmengine substituted data_root / split_cfg /
# crop_size where mmwhs_ct.py uses them, so they are set again below.
_base_ = [
    '../_base_/models/unet_fcn.py', '../_base_/datasets/mmwhs_ct.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600.py'
]
data_root = 'data/phantom_whs'
split_cfg = dict(type='seeded', seed=0, num_val=2, num_test=4)
label_budget = 4
crop_size = (96, 96)
# mmwhs_ct.py's pipelines at this crop size (as acdc_phantom.py)
__size_keys = dict(RandomAffineResize='out_size', Resize='scale')
train_pipeline, test_pipeline = [[
    dict(t, **{__size_keys[t.type]: crop_size}) if t.type in __size_keys else t
    for t in pipeline
] for pipeline in (_base_.train_pipeline, _base_.test_pipeline)]

__phantom = dict(data_root=data_root, split_cfg=split_cfg)
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
model = dict(decode_head=dict(num_classes=8))
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval={{_base_.val_interval}}, max_keep_ckpts=1))
