# IDEAL stage 1 on MM-WHS MRI: the dense contrastive pre-training of
# configs/ideal/unet_acdc_pretrain.py on every slice of the train patients and
# of the unlabelled challenge test volumes (imagesTs); labels never loaded.
# -> work_dirs/unet_mmwhs-mr_pretrain/encoder.pth for unet_mmwhs-mr.py.
_base_ = ['./unet_acdc_pretrain.py']

data_root = 'data/MMWHS_MR'
split_cfg = dict(type='seeded', seed=0, num_val=2, num_test=6)
mmwhs_dataset = dict(
    type='NnUNetDataset',
    data_root=data_root,
    split_cfg=split_cfg,
    normalize='zscore')
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        split='train',
        subset='all',
        pipeline={{_base_.train_pipeline}},
        **mmwhs_dataset))
