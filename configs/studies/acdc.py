# The IDEAL paper's ACDC comparison, reproduced on the real data (data/ACDC,
# the SSL4MIS split: 70 train / 10 val / 20 test patients):
#   python tools/analysis/study.py configs/studies/acdc.py --jobs 1
# Label budgets: the paper's 1.25 / 2.5 / 10 % of the training patients and
# SSL4MIS's 3 / 7 patients; 5 fine-tuning seeds; 30k iterations, 12 + 12
# slices of 256x256 per batch (one GPU). Stage 1 runs once (20k iterations)
# and every IDEAL variant starts from its encoder.pth. The paper's DSC at
# these budgets: README.md ("Results").
budgets = [0.0125, 0.025, 0.1, 3, 7]
seeds = [0, 1, 2, 3, 4]
cfg_options = {}
methods = dict(
    supervised=dict(
        config='configs/baselines/supervised_unet_1xb24-30k_acdc-7pat.py'),
    cps=dict(config='configs/baselines/cps_unet_1xb24-30k_acdc-7pat.py'),
    ideal=dict(
        config='configs/ideal/unet_acdc.py',
        pretrain='configs/ideal/unet_acdc_pretrain.py'),
    ideal_unimatch=dict(
        config='configs/ideal/ideal_unimatch_unet_1xb24-30k_acdc-10pct.py',
        pretrain='configs/ideal/unet_acdc_pretrain.py'),
    supervised_all=dict(
        config='configs/baselines/supervised_unet_1xb24-30k_acdc-7pat.py',
        budgets=[1.0]),
)
compare = [('cps', 'supervised'), ('ideal', 'supervised'), ('ideal', 'cps'),
           ('ideal_unimatch', 'cps'), ('ideal_unimatch', 'ideal')]
