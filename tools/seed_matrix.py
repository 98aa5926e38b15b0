"""Train a list of configs over several seeds and write a mean +- std table.

Each run is the command a user types, ``python tools/train.py CONFIG
--work-dir WORK_ROOT/<config name>/seed<S> --cfg-options randomness.seed=S``
(what ``mim train mmdet_dynmoe`` runs), in its own process. Its metrics are
the final validation of the training (mmengine's ``vis_data/scalars.json``),
saved as ``metrics.json`` in the run's work dir; a run with that file is
skipped, and a run stopped part-way resumes from its last checkpoint, so a
matrix stopped half-way continues where it stopped. The table
(markdown, one row per config, ``mean +- std (n)`` per metric, sample std
over seeds) is written with the commands that produced it::

    python tools/seed_matrix.py --seeds 0 1 2 --out work_dirs/seeds.md \\
        configs/baseline/dino_r18-tiny_3e_synthetic-mixed.py \\
        configs/moe/moe-dino_r18-tiny-n4k2_3e_synthetic-mixed.py

``--data-seeds D ...`` also varies the synthetic benchmark's draw: data
seed 0 is ``data/synthetic/``, seed D another draw of the generator in
``data/synthetic-seedD/`` (made by tools/make_synthetic.py when missing) that
the run reads through the ``DYNMOE_SYNTHETIC_ROOT`` environment variable of
the synthetic configs; runs then go to ``.../data<D>-seed<S>``.

``--mean NAME=KEY,KEY`` adds a column averaged per run before the seeds
(e.g. the old domains' mean AP of a per-dataset validation).
``--table-only`` rewrites the table from the finished runs without training.
``--compare REF`` adds, below the table, every other config against the
config REF on the first metric: the difference of the means, Welch's t-test
(two-sided, scipy ``ttest_ind(equal_var=False)``) and a verdict by this
project's rule: a gain or a loss only when the two configs' seeds do not
overlap (every seed of one above every seed of the other), otherwise
"no difference".

``--record-dir DIR`` keeps a copy of each finished run's ``metrics.json`` in
``DIR/<config name>/<run>.json`` and counts a run with a record there as
finished: commit ``DIR`` (kilobytes, no checkpoints) and a matrix continues
on another machine, or in a session whose ``work_dirs`` are gone, e.g.::

    python tools/seed_matrix.py --seeds 0 1 2 --work-root work_dirs/seeds \
        --record-dir docs/seeds/hi_moe --out docs/seeds/hi_moe/table.md \
        configs/hi_moe/hi-moe-dino_r18-tiny-e16g4_3e_synthetic-mixed.py
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from glob import glob
from typing import Optional

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: default metrics: every COCO box AP key of the final validation.
DEFAULT_SUFFIX = 'bbox_mAP'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train configs over seeds; write a mean +- std table.')
    parser.add_argument('configs', nargs='*', help='config files')
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=[0, 1, 2],
        help='training seeds (mmengine randomness.seed)')
    parser.add_argument(
        '--data-seeds',
        type=int,
        nargs='+',
        default=None,
        help='synthetic benchmark draws (tools/make_synthetic.py --seed); '
        'default: the configs\' data as it is')
    parser.add_argument(
        '--work-root',
        default='work_dirs/seeds',
        help='runs go to WORK_ROOT/<config name>/seed<S>')
    parser.add_argument(
        '--out',
        default=None,
        help='markdown table (default WORK_ROOT/table.md)')
    parser.add_argument(
        '--metrics',
        nargs='+',
        default=None,
        help=f'metric keys of the final validation (default: every key '
        f'ending in {DEFAULT_SUFFIX!r})')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='extra key=value options for every run (as tools/train.py); '
        'it takes every word after it, so put the configs before it; '
        '{seed} in a value becomes the run\'s seed, e.g. '
        'load_from=work_dirs/step1/seed{seed}/epoch_12.pth')
    parser.add_argument(
        '--mean',
        nargs='+',
        default=[],
        metavar='NAME=KEY,KEY,...',
        help='extra column NAME: per run, the mean of these metric keys, '
        'then mean +- std over seeds like every column; a NAME containing '
        'mAP is shown in percent, e.g. old/coco/bbox_mAP=studio/coco/'
        'bbox_mAP,street/coco/bbox_mAP')
    parser.add_argument(
        '--record-dir',
        default=None,
        help='also keep each finished run\'s metrics.json as DIR/<config '
        'name>/<run>.json; a run recorded there counts as finished (commit '
        'DIR to carry a matrix across machines)')
    parser.add_argument(
        '--compare',
        default=None,
        metavar='REF',
        help='one of the configs: compare every other config with it on the '
        'first metric (difference, Welch t-test, verdict)')
    parser.add_argument(
        '--table-only',
        action='store_true',
        help='write the table from finished runs only')
    args, rest = parser.parse_known_args(argv)  # configs swallowed: below
    swallowed = [o for o in args.cfg_options if '=' not in o]
    if swallowed:
        parser.error(f'--cfg-options takes key=value words only, got '
                     f'{swallowed}: put the config files before '
                     '--cfg-options')
    try:
        args.mean = parse_means(args.mean)
    except ValueError as err:
        parser.error(str(err))
    if rest:
        parser.error(f'unrecognized arguments: {" ".join(rest)}')
    if not args.configs:
        parser.error('the following arguments are required: configs')
    if args.compare is not None and args.compare not in args.configs:
        parser.error(f'--compare {args.compare!r} is not one of the configs')
    return args


def parse_means(specs: list[str]) -> dict[str, list[str]]:
    """``['NAME=K1,K2']`` -> ``{'NAME': ['K1', 'K2']}``."""
    means = {}
    for spec in specs:
        name, _, keys = spec.partition('=')
        if not name or not keys:
            raise ValueError(f'--mean {spec!r}: expected NAME=KEY,KEY,...')
        means[name] = keys.split(',')
    return means


def add_means(results: dict, means: dict[str, list[str]]) -> None:
    """Add each ``--mean`` column to every run (config -> runs) that has
    all its keys."""
    for runs in results.values():
        for run in runs:
            values = run['metrics']
            for name, keys in means.items():
                if all(k in values for k in keys):
                    values[name] = statistics.fmean(values[k] for k in keys)


#: environment variable the synthetic configs read their data root from
DATA_ROOT_ENV = 'DYNMOE_SYNTHETIC_ROOT'


def run_dir(work_root: str,
            config: str,
            seed: int,
            data_seed: Optional[int] = None) -> str:
    name = osp.splitext(osp.basename(config))[0]
    run = f'seed{seed}' if data_seed is None else \
        f'data{data_seed}-seed{seed}'
    return osp.join(work_root, name, run)


def record_path(record_dir: str, work_root: str, work_dir: str) -> str:
    """``DIR/<config name>/<run>.json`` for the run in ``work_dir``."""
    return osp.join(record_dir, osp.relpath(work_dir, work_root) + '.json')


def load_finished(work_dir: str,
                  record: Optional[str] = None) -> Optional[dict]:
    """The finished run's result (its ``metrics.json``, else its record),
    or None when it has not finished."""
    for path in (osp.join(work_dir, 'metrics.json'), record):
        if path is not None and osp.isfile(path):
            with open(path) as f:
                return json.load(f)
    return None


def synthetic_root(data_seed: int) -> str:
    """Where draw ``data_seed`` of the synthetic benchmark lives."""
    return 'data/synthetic/' if data_seed == 0 else \
        f'data/synthetic-seed{data_seed}/'


def make_synthetic(data_seed: int) -> str:
    """Generate draw ``data_seed`` unless it exists; returns its root."""
    root = synthetic_root(data_seed)
    subprocess.run([
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'make_synthetic.py'), root, '--seed',
        str(data_seed), '--if-missing'
    ],
                   check=True)
    return root


def train_command(config: str, seed: int, work_dir: str,
                  cfg_options: list[str]) -> list[str]:
    """The ``tools/train.py`` command line of one run; ``{seed}`` in an
    option becomes the run's seed (e.g. a step-2 run's ``load_from`` its
    own seed's step-1 checkpoint)."""
    return [
        sys.executable,
        osp.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir',
        work_dir, '--cfg-options', f'randomness.seed={seed}',
        *(o.replace('{seed}', str(seed)) for o in cfg_options)
    ]


def final_val_metrics(work_dir: str) -> dict[str, float]:
    """The last validation's metrics of the newest run in ``work_dir``.

    Raises:
        FileNotFoundError: no ``vis_data/scalars.json`` with metrics.
    """
    files = sorted(glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    for path in reversed(files):
        metrics = None
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if any(k.endswith(DEFAULT_SUFFIX) for k in row):
                    metrics = row
        if metrics is not None:
            return {
                k: float(v)
                for k, v in metrics.items() if isinstance(v, (int, float))
            }
    raise FileNotFoundError(
        f'{work_dir}: no validation metrics in */vis_data/scalars.json '
        '(did the training reach its validation?)')


def run_one(config: str,
            seed: int,
            work_dir: str,
            cfg_options: list[str],
            data_seed: Optional[int] = None,
            record: Optional[str] = None) -> dict:
    """Train one run unless it finished before; returns its metrics.json.

    A run that stopped part-way (its work dir has mmengine's
    ``last_checkpoint`` but no ``metrics.json``) continues from its last
    checkpoint (``tools/train.py --resume``); ``minutes`` then counts this
    sitting only. ``record``: a second copy of the result (see
    ``--record-dir``); when it exists the run counts as finished.
    """
    done = osp.join(work_dir, 'metrics.json')
    finished = load_finished(work_dir, record)
    if finished is not None:
        if record is not None and not osp.isfile(record):
            _write(record, finished)  # recorded from its work dir
        return finished
    os.makedirs(work_dir, exist_ok=True)
    cmd = train_command(config, seed, work_dir, cfg_options)
    resume = osp.isfile(osp.join(work_dir, 'last_checkpoint'))
    run_cmd = cmd[:5] + ['--resume'] + cmd[5:] if resume else cmd
    env, prefix = dict(os.environ), []
    if data_seed is not None:
        env[DATA_ROOT_ENV] = make_synthetic(data_seed)
        prefix = [f'{DATA_ROOT_ENV}={env[DATA_ROOT_ENV]}']
    start = time.time()
    with open(osp.join(work_dir, 'train.log'), 'a' if resume else 'w') as log:
        proc = subprocess.run(
            run_cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=os.getcwd(),
            env=env)
    if proc.returncode:
        raise RuntimeError(
            f'{config} seed {seed} failed (exit {proc.returncode}); see '
            f'{osp.join(work_dir, "train.log")}')
    result = dict(
        config=config,
        seed=seed,
        data_seed=data_seed,
        command=' '.join(prefix + ['python', osp.relpath(cmd[1])] + cmd[2:]),
        minutes=round((time.time() - start) / 60, 1),
        resumed=resume,
        metrics=final_val_metrics(work_dir))
    for path in (done, record):
        if path is not None:
            _write(path, result)
    return result


def _write(path: str, result: dict) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f, indent=1)


def _scale(key: str, value: float) -> float:
    # COCO APs are logged as fractions; READMEs write them in percent
    return 100 * value if 'mAP' in key else value


def default_metrics(results: dict[str, list[dict]]) -> list[str]:
    """Every key ending in ``bbox_mAP`` that some run has, shortest first."""
    keys = {
        k
        for runs in results.values()
        for r in runs
        for k in r['metrics'] if k.endswith(DEFAULT_SUFFIX)
    }
    return sorted(keys, key=lambda k: (k.count('/'), k))


def summarise(values: list[float]) -> str:
    """``mean +- std (n)``; the std is the sample std over seeds."""
    if not values:
        return '-'
    mean = statistics.fmean(values)
    if len(values) == 1:
        return f'{mean:.1f} (1 run)'
    return f'{mean:.1f} +- {statistics.stdev(values):.1f} ({len(values)})'


def _seed_name(run: dict) -> str:
    if run.get('data_seed') is None:
        return str(run['seed'])
    return f'd{run["data_seed"]}/s{run["seed"]}'


def table(results: dict[str, list[dict]], metrics: Optional[list[str]]) -> str:
    """Markdown table: one row per config, one column per metric."""
    if metrics is None:
        metrics = default_metrics(results)
    lines = [
        '| config | seeds | ' + ' | '.join(metrics) + ' |',
        '|---|---|' + '---:|' * len(metrics)
    ]
    for config, runs in results.items():
        seeds = ', '.join(_seed_name(r) for r in runs) or '-'
        cells = [
            summarise([
                _scale(m, r['metrics'][m]) for r in runs if m in r['metrics']
            ]) for m in metrics
        ]
        lines.append(f'| `{osp.basename(config)}` | {seeds} | ' +
                     ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def compare(results: dict[str, list[dict]], ref: str, metric: str) -> str:
    """Markdown table: every config against ``ref`` on ``metric``.

    Verdict: "gain" / "loss" when the seeds of the two configs do not
    overlap, otherwise "no difference"; Welch's t-test (two-sided) beside it
    for the reader who wants a p-value. Configs with fewer than two seeds
    with ``metric`` (on either side) get "-".
    """
    from scipy.stats import ttest_ind

    def values(config):
        return [
            _scale(metric, r['metrics'][metric]) for r in results[config]
            if metric in r['metrics']
        ]

    base = values(ref)
    lines = [
        f'| config vs `{osp.basename(ref)}` | {metric} difference | '
        'Welch t | p | verdict |', '|---|---:|---:|---:|---|'
    ]
    for config in results:
        if config == ref:
            continue
        other = values(config)
        if len(other) < 2 or len(base) < 2:
            cells = ['-'] * 4
        else:
            test = ttest_ind(other, base, equal_var=False)
            diff = statistics.fmean(other) - statistics.fmean(base)
            verdict = ('gain' if min(other) > max(base) else
                       'loss' if max(other) < min(base) else 'no difference')
            cells = [
                f'{diff:+.1f}', f'{test.statistic:.1f}', f'{test.pvalue:.2f}',
                verdict
            ]
        lines.append(f'| `{osp.basename(config)}` | ' + ' | '.join(cells) +
                     ' |')
    return '\n'.join(lines)


def main(argv=None) -> None:
    args = parse_args(argv)
    missing = [c for c in args.configs if not osp.isfile(c)]
    if missing:
        raise SystemExit(f'seed_matrix: no such config: {missing}')
    data_seeds = args.data_seeds or [None]
    runs = [(c, d, s) for c in args.configs for d in data_seeds
            for s in args.seeds]
    results: dict[str, list[dict]] = {c: [] for c in args.configs}
    for i, (config, data_seed, seed) in enumerate(runs, 1):
        work_dir = run_dir(args.work_root, config, seed, data_seed)
        record = None if args.record_dir is None else record_path(
            args.record_dir, args.work_root, work_dir)
        finished = load_finished(work_dir, record) is not None
        if args.table_only and not finished:
            continue
        state = 'done before' if finished else 'training'
        data = '' if data_seed is None else f'data seed {data_seed}, '
        print(
            f'[{i}/{len(runs)}] {osp.basename(config)} {data}seed {seed}: '
            f'{state}',
            flush=True)
        result = run_one(config, seed, work_dir, args.cfg_options, data_seed,
                         record)
        if not finished:
            print(
                f'[{i}/{len(runs)}] finished in {result["minutes"]} min',
                flush=True)
        results[config].append(result)
    metrics = args.metrics or default_metrics(results)
    add_means(results, args.mean)  # derived columns go last
    metrics += [m for m in args.mean if m not in metrics]
    out = args.out or osp.join(args.work_root, 'table.md')
    commands = '\n'.join(r['command'] for rs in results.values() for r in rs)
    comparison = '' if args.compare is None else (
        f'\n\n{compare(results, args.compare, metrics[0])}\n\nA gain or a '
        'loss only where the seeds do not overlap; Welch\'s t-test '
        '(two-sided) beside it.')
    text = (
        f'{table(results, metrics)}\n\nFinal validation of each '
        f'run; mean +- sample std over seeds (number of seeds; '
        f'd<D>/s<S>: data seed D, training seed S).{comparison}\n'
        f'Written {time.strftime("%Y-%m-%d")} by\n\n    python '
        f'tools/seed_matrix.py {" ".join(sys.argv[1:] if argv is None else argv)}'
        f'\n\nRuns:\n\n```\n{commands}\n```\n')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main()
