"""Evaluate NIfTI label maps against ground truth: per-volume Dice, Jaccard,
HD95, ASD, ASSD.

    python tools/evaluate.py --pred-dir P --gt-dir G --out metrics.json \
        [--labels RV=1 Myo=2 LV=3 | --dataset-json D/dataset.json] \
        [--csv per_case.csv]

Classes: ``--labels NAME=VALUE ...``, or ``--dataset-json`` (an nnU-Net v2 or
Decathlon ``dataset.json``, or its folder: every class but the background),
or ACDC's RV=1 Myo=2 LV=3 by default. For an nnU-Net data set use
``--gt-dir <root>/labelsTr --dataset-json <root>``.

File pairing and metrics are :mod:`ideal_mm.apis.label_map_eval`. Prints a
per-class table and writes the summary JSON (and optionally the per-case CSV)
atomically, only after every case was evaluated.
"""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from ideal_mm.errors import ConfigError, run_cli


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Evaluate every prediction, print the table and write the summary
    JSON."""
    parser = argparse.ArgumentParser(
        description=('Per-volume Dice, Jaccard, HD95, ASD, ASSD (mm) of NIfTI '
                     'label maps.'))
    parser.add_argument(
        '--pred-dir',
        required=True,
        help='folder of predicted NIfTI label maps')
    parser.add_argument(
        '--gt-dir',
        required=True,
        help='folder of ground-truth NIfTI label maps')
    parser.add_argument('--out', required=True, help='summary JSON to write')
    parser.add_argument(
        '--csv', default=None, help='optional per-case CSV to write')
    parser.add_argument(
        '--labels',
        nargs='+',
        metavar='NAME=VALUE',
        help='classes and label values (default: RV=1 Myo=2 LV=3)')
    parser.add_argument(
        '--dataset-json',
        metavar='PATH',
        help='take the classes from an nnU-Net / Decathlon dataset.json '
        '(the file or its folder)')
    args = parser.parse_args(argv)
    # numpy, scipy and nibabel only after the arguments (--help is instant)
    from ideal_mm.apis.label_map_eval import (evaluate_pairs, find_pairs,
                                              parse_labels)
    from ideal_mm.evaluation.report import (format_table, summarize,
                                            write_json, write_per_case_csv)
    if args.labels and args.dataset_json:
        raise ConfigError('give --labels or --dataset-json, not both')
    if args.dataset_json:
        from ideal_mm.datasets.nnunet import read_dataset_json
        labels = read_dataset_json(args.dataset_json).labels
    else:
        labels = parse_labels(args.labels)
    pairs = find_pairs(args.pred_dir, args.gt_dir)

    from ideal_mm.progress import progress_bar
    cases = evaluate_pairs(
        progress_bar(pairs, desc='evaluating', unit='case', disable=None),
        labels)

    summary = summarize(cases, list(labels))
    print(format_table(summary))
    write_json(args.out, summary)
    if args.csv:
        write_per_case_csv(args.csv, cases)
    print(f'wrote {args.out}' + (f' and {args.csv}' if args.csv else ''))
    return 0


if __name__ == '__main__':
    run_cli(main)
