# MUSDL's diving head over any USDL config of a diving dataset (github.com/nzl-thu/MUSDL,
# MTL-AQA/): one MLP (256, 128) and one Gaussian (sigma 5 bins) over 21 bins of 0..10 per
# judge (7 judges), the summed per-judge KL divergence; the prediction is the diving
# rule: the judges' argmax scores sorted, the middle three summed, times the dive's
# difficulty; Adam with weight decay 1e-5 (run.sh `--type MUSDL --weight_decay 1e-5`).
# A config lists this beside its USDL config and takes `model = _base_.musdl_model`,
# `optim_wrapper = _base_.musdl_optim_wrapper` and packs `musdl_meta_keys`.
musdl_meta_keys = ('difficulty', 'judge_scores')
musdl_model = dict(
    target_keys=('judge_scores', ),
    multiply_by='difficulty',
    head=dict(_delete_=True, type='MUSDLHead', num_judges=7, num_bins=21, judge_min=0.0,
              judge_max=10.0, hidden=(256, 128), drop_extremes=2),
    losses=[dict(type='MUSDLLoss', num_judges=7, judge_min=0.0, judge_max=10.0, sigma=5.0,
                 judge_key='judge_scores')])
musdl_optim_wrapper = dict(optimizer=dict(weight_decay=1e-5))
