"""Evaluate each dataset of a mixture in its own label space, and the mean."""
from __future__ import annotations

import copy
import inspect
import logging
import numbers
from typing import Any, Sequence

import numpy as np
import torch
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log


@METRICS.register_module()
class PerDatasetMetric(BaseMetric):
    """One metric per dataset of a ``DatasetMixture``, plus their mean.

    For every sample (routed by its ``dataset_id`` metainfo) the unified
    predictions are mapped back to the sample's dataset: labels become the
    dataset's own labels and predictions of classes the dataset does not
    annotate are dropped (they can neither help nor hurt it). Ground truth
    carried in the sample (``gt_instances``, ``ignored_instances``,
    ``instances``) is mapped the same way. The dataset's own metric (built
    from ``metric``, with the dataset's metainfo and, when the metric takes
    an ``ann_file`` and the config gives none, the dataset's annotation
    file) then scores it.

    Result keys: ``<dataset name>/<metric prefix>/<key>`` for every dataset
    (e.g. ``studio/coco/bbox_mAP``) and ``mean/<metric prefix>/<key>``: the
    mean over datasets of each numeric key, skipping COCO's ``-1`` ("no such
    objects") values. Distributed-safe: every rank keeps its samples in
    order and the grouping by dataset happens after ``collect_results``.

    Args:
        metric: config of the metric run for each dataset, e.g.
            ``dict(type='CocoMetric', metric='bbox')``.
        collect_device: as :class:`BaseMetric`.
        prefix: optional prefix before every key (none by default).
    """

    default_prefix = ''  # keys already start with the dataset name

    def __init__(self,
                 metric: dict,
                 collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not isinstance(metric, dict) or 'type' not in metric:
            raise TypeError('PerDatasetMetric: `metric` must be a metric '
                            f"config dict with a 'type'; got {metric!r}")
        self.metric_cfg = copy.deepcopy(dict(metric))
        self.metrics: list[BaseMetric] = []
        self.infos: list[dict] = []
        self.num_classes = 0

    @property
    def dataset_meta(self) -> dict | None:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        """Build one metric per dataset from a DatasetMixture's metainfo."""
        infos = (dataset_meta or {}).get('dataset_infos')
        if not infos:
            raise ValueError(
                'PerDatasetMetric needs the metainfo of a DatasetMixture '
                "(key 'dataset_infos'); the evaluated dataset has keys "
                f'{sorted(dataset_meta or {})}')
        self._dataset_meta = dataset_meta
        self.infos = list(infos)
        self.num_classes = len(dataset_meta['classes'])
        self.metrics = [self._build(info) for info in self.infos]

    def _build(self, info: dict) -> BaseMetric:
        cfg = copy.deepcopy(self.metric_cfg)
        metric_cls = METRICS.get(cfg['type']) \
            if isinstance(cfg['type'], str) else cfg['type']
        if metric_cls is None:
            raise KeyError(f"PerDatasetMetric: metric type {cfg['type']!r} "
                           'is not registered')
        takes_ann_file = 'ann_file' in inspect.signature(
            metric_cls.__init__).parameters
        if takes_ann_file and cfg.get('ann_file') is None and \
                info.get('ann_file'):
            cfg['ann_file'] = info['ann_file']
        metric = METRICS.build(cfg)
        metric.dataset_meta = info['metainfo']
        return metric

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Map each sample to its dataset's space and let that metric take it.

        Stores ``(dataset_id, [the dataset metric's results])`` per sample.
        """
        if not self.metrics:
            raise RuntimeError('PerDatasetMetric: dataset_meta was never set '
                               '(the evaluator sets it from the dataset)')
        for sample in data_samples:
            dataset_id = sample.get('dataset_id')
            if dataset_id is None:
                raise KeyError(
                    "PerDatasetMetric: a data sample has no 'dataset_id' in "
                    'its metainfo; evaluate a DatasetMixture (it adds '
                    "'dataset_id' to PackDetInputs meta_keys) and keep the "
                    'key in any PackDetInputs you configure yourself')
            if not 0 <= int(dataset_id) < len(self.metrics):
                raise ValueError(f'PerDatasetMetric: dataset_id {dataset_id} '
                                 f'is not one of the {len(self.metrics)} '
                                 'datasets')
            dataset_id = int(dataset_id)
            local = to_dataset_space(sample, self.infos[dataset_id],
                                     self.num_classes)
            metric = self.metrics[dataset_id]
            start = len(metric.results)
            metric.process(data_batch, [local])
            self.results.append((dataset_id, metric.results[start:]))
            del metric.results[start:]

    def compute_metrics(self, results: list) -> dict[str, float]:
        per_dataset: list[list] = [[] for _ in self.metrics]
        for dataset_id, entries in results:
            per_dataset[dataset_id].extend(entries)
        out: dict[str, Any] = {}
        scored: list[tuple[str, str, dict]] = []
        for info, metric, entries in zip(self.infos, self.metrics,
                                         per_dataset):
            if not entries:
                print_log(
                    f"PerDatasetMetric: no samples of dataset "
                    f"{info['name']!r}; it is left out of the mean",
                    logger='current',
                    level=logging.WARNING)
                continue
            values = dict(metric.compute_metrics(entries))
            scored.append((info['name'], metric.prefix or '', values))
        _fill_empty(scored)
        for name, prefix, values in scored:
            key = '/'.join(p for p in (name, prefix) if p)
            out.update({f'{key}/{k}': v for k, v in values.items()})
        mean = _mean(scored)
        out.update(mean)
        _log_table(scored, mean)
        return out


def to_dataset_space(sample: dict, info: dict, num_classes: int) -> dict:
    """A copy of ``sample`` with labels in the dataset's own label space.

    Args:
        sample: a data sample as a dict (``DetDataSample.to_dict()``);
            ``pred_instances.labels``: ``(N,)`` unified ids.
        info: the dataset's entry of ``metainfo['dataset_infos']``
            (``to_dataset``: ``(K,)``, -1 where not annotated).
        num_classes: ``K``.

    Returns:
        The sample with predictions of classes the dataset does not annotate
        removed and every label (predictions and ground truth) in local ids.

    Raises:
        ValueError: a predicted label outside ``0 .. K-1`` (the detector's
            ``num_classes`` differs from the unified label space), or a
            ground-truth label the dataset does not annotate.
    """
    to_dataset = torch.as_tensor(info['to_dataset'], dtype=torch.long)
    sample = dict(sample)
    pred = sample.get('pred_instances')
    if pred is not None and 'labels' in pred:
        labels = torch.as_tensor(pred['labels']).long().cpu()
        if labels.numel() and (labels.min() < 0
                               or labels.max() >= num_classes):
            raise ValueError(
                f'PerDatasetMetric: predicted label {int(labels.max())} is '
                f'outside the unified label space of {num_classes} classes; '
                f'set the detector head num_classes={num_classes} '
                "(len(dataset.metainfo['classes']))")
        local = to_dataset[labels]
        keep = local >= 0
        sample['pred_instances'] = _select(pred, keep, len(labels))
        sample['pred_instances']['labels'] = local[keep].to(
            torch.as_tensor(pred['labels']).device)
    for key in ('gt_instances', 'ignored_instances'):
        inst = sample.get(key)
        if inst is not None and 'labels' in inst:
            inst = dict(inst)
            inst['labels'] = _gt_to_local(inst['labels'], to_dataset, info)
            sample[key] = inst
    if sample.get('instances'):
        sample['instances'] = [
            dict(
                i,
                bbox_label=int(
                    _gt_to_local(
                        torch.tensor([i['bbox_label']]), to_dataset, info)[0]))
            if 'bbox_label' in i else i for i in sample['instances']
        ]
    return sample


def _select(instances: dict, keep: torch.Tensor, num: int) -> dict:
    """Rows ``keep`` of every per-instance field (length ``num``)."""
    out = {}
    idx = keep.nonzero().flatten()
    for k, v in instances.items():
        if isinstance(v, torch.Tensor) and v.dim() and v.shape[0] == num:
            out[k] = v[keep.to(v.device)]
        elif isinstance(v, np.ndarray) and v.ndim and v.shape[0] == num:
            out[k] = v[keep.numpy()]
        elif isinstance(v, list) and len(v) == num:
            out[k] = [v[i] for i in idx.tolist()]
        else:
            out[k] = v
    return out


def _gt_to_local(labels: Any, to_dataset: torch.Tensor,
                 info: dict) -> torch.Tensor:
    labels_t = torch.as_tensor(labels).long()
    local = to_dataset[labels_t.cpu()].to(labels_t.device)
    if (local < 0).any():
        bad = sorted(set(labels_t[local < 0].tolist()))
        raise ValueError(f"PerDatasetMetric: ground truth of dataset "
                         f"{info['name']!r} has unified labels {bad} that "
                         'the dataset does not annotate')
    return local


def _fill_empty(scored: list[tuple[str, str, dict]]) -> None:
    """A dataset left without predictions scores 0 (mmdet returns {}).

    Its class-mapped predictions can all be dropped (e.g. an early model
    predicts only other datasets' classes); ``CocoMetric`` then returns no
    keys, which would silently leave the dataset out of the mean.
    """
    for name, prefix, values in scored:
        if values:
            continue
        others = [v for _, p, v in scored if p == prefix and v]
        if not others:
            continue
        values.update({k: 0.0 for k, v in others[0].items() if _is_number(v)})
        print_log(
            f'PerDatasetMetric: no predictions left for dataset '
            f'{name!r} in its label space; scored 0',
            logger='current',
            level=logging.WARNING)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _mean(scored: list[tuple[str, str, dict]]) -> dict[str, float]:
    """``mean/<prefix>/<key>``: mean of each numeric key over datasets."""
    if not scored:
        return {}
    out = {}
    prefixes = {p for _, p, _ in scored}
    for prefix in sorted(prefixes):
        group = [v for _, p, v in scored if p == prefix]
        keys = dict.fromkeys(k for v in group for k in v)
        for key in keys:
            vals = [
                float(v[key]) for v in group
                if _is_number(v.get(key)) and v[key] >= 0
            ]  # -1: n/a
            if vals:
                name = '/'.join(p for p in ('mean', prefix, key) if p)
                out[name] = round(sum(vals) / len(vals), 4)
    return out


def _log_table(scored: list[tuple[str, str, dict]], mean: dict[str,
                                                               float]) -> None:
    """Log one row per dataset and the mean (first prefix, 6 keys)."""
    if not scored:
        return
    prefix = scored[0][1]
    keys = [k for k, v in scored[0][2].items() if _is_number(v)][:6]
    mean_row = {
        k: mean.get('/'.join(p for p in ('mean', prefix, k) if p))
        for k in keys
    }
    rows = [(n, v) for n, p, v in scored if p == prefix] + [('mean', mean_row)]
    width = max(8, *(len(n) for n, _ in rows))
    lines = [' '.join([f'{"dataset":<{width}}'] + [f'{k:>14}' for k in keys])]
    for name, values in rows:
        lines.append(' '.join([f'{name:<{width}}'] + [
            f'{values[k]:>14.3f}' if _is_number(values.get(k)
                                                ) else f'{"-":>14}'
            for k in keys
        ]))
    print_log('per-dataset evaluation:\n' + '\n'.join(lines), logger='current')
