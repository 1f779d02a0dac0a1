# Chaitanya et al. 2020, stage 3: supervised fine-tuning of the encoder and
# decoder pre-trained by configs/pretrain/chaitanya-global_* (encoder) and
# configs/pretrain/chaitanya-local_* (encoder + decoder blocks 1-3, in
# pretrained.pth) on 2.5 % of the 70 SSL4MIS training patients (2 labelled).
# The decoder blocks beyond the third and the classifier start at random.
# Schedule and batches of the supervised baselines (SGD lr 0.01, poly, 24
# labelled slices, 30k iterations). --cfg-options model.init_cfg=None trains
# from scratch.
_base_ = [
    '../_base_/models/chaitanya_unet.py', '../_base_/datasets/acdc.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_30k.py'
]
pretrain_config = 'configs/pretrain/chaitanya-local_unet_1xb12-10k_acdc.py'
pretrained = 'work_dirs/chaitanya-local_unet_1xb12-10k_acdc/pretrained.pth'
label_budget = 0.025
model = dict(init_cfg=dict(type='Pretrained', checkpoint=pretrained))
train_dataloader = dict(dataset=dict(label_budget=label_budget))
