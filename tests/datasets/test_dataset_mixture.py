"""DAMEX data side: dataset mixtures, label spaces, samplers, per-dataset eval.

The interface to the model side: every sample of a ``DatasetMixture`` carries
``dataset_id`` / ``dataset_name`` in ``DetDataSample.metainfo`` and its labels
in the unified label space.
"""
from __future__ import annotations

import collections
import copy
import json
import os.path as osp

import pytest
import torch
from mmdet.registry import DATASETS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.structures import InstanceData

import mmdet_dynmoe  # noqa: F401  (registers the DAMEX components)
from mmdet_dynmoe.datasets import (DatasetMixture, DatasetRatioSampler,
                                   LabelSpace)
from mmdet_dynmoe.evaluation import to_dataset_space
from mmdet_dynmoe.testing import write_layout_fixture, write_voc_fixture
from helpers import REPO_ROOT, load_tool

REPO = REPO_ROOT
voc_to_coco = load_tool('dataset_converters/voc_to_coco')
SYNTHETIC_DATA = osp.join(REPO, 'configs/damex/_base_/synthetic-domains.py')
UODB_DATA = osp.join(REPO, 'configs/damex/_base_/uodb.py')
DOMAINS = ['studio', 'street', 'night', 'paper']


def _synthetic_cfg(data_root: str) -> Config:
    """The synthetic DAMEX data config, pointed at ``data_root``."""
    cfg = Config.fromfile(SYNTHETIC_DATA)
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        for ds in loader.dataset.datasets:
            ds.data_root = data_root
            ds.serialize_data = False  # speed: skips a gc.collect per build
        loader.num_workers = 0
        loader.persistent_workers = False
    return cfg


@pytest.fixture(scope='module')
def synthetic_cfg(tiny_synthetic) -> Config:
    return _synthetic_cfg(tiny_synthetic)


@pytest.fixture(scope='module')
def train_mixture(synthetic_cfg) -> DatasetMixture:
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(
            copy.deepcopy(synthetic_cfg.train_dataloader.dataset))


@pytest.fixture(scope='module')
def val_mixture(synthetic_cfg) -> DatasetMixture:
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(
            copy.deepcopy(synthetic_cfg.val_dataloader.dataset))


def _loader(cfg: Config, split: str = 'train', **overrides):
    loader = copy.deepcopy(cfg[f'{split}_dataloader'])
    loader.update(overrides)
    return Runner.build_dataloader(loader, seed=0)


# --------------------------------------------------------------- identity


@pytest.mark.parametrize('split', ['train', 'val'])
def test_every_sample_carries_its_dataset_id_and_name(split, train_mixture,
                                                      val_mixture):
    mixture = train_mixture if split == 'train' else val_mixture
    assert mixture.metainfo['dataset_names'] == tuple(DOMAINS)
    seen = set()
    for idx in range(len(mixture)):
        sample = mixture[idx]['data_samples']
        source = mixture.get_dataset_source(idx)
        assert sample.metainfo['dataset_id'] == source
        assert isinstance(sample.metainfo['dataset_id'], int)
        assert sample.metainfo['dataset_name'] == DOMAINS[source]
        # The domain recorded by the generator agrees with the tag.
        assert sample.metainfo.get('domain', DOMAINS[source]) == \
            DOMAINS[source]
        seen.add(source)
    assert seen == set(range(len(DOMAINS)))


def test_a_mixed_batch_reaches_the_model_with_per_image_ids(synthetic_cfg):
    loader = _loader(synthetic_cfg, batch_size=8)
    batch = next(iter(loader))
    ids = [s.metainfo['dataset_id'] for s in batch['data_samples']]
    names = [s.metainfo['dataset_name'] for s in batch['data_samples']]
    assert len(ids) == 8
    assert [DOMAINS[i] for i in ids] == names


def test_wrapped_datasets_in_a_mixture_are_tagged_too(synthetic_cfg):
    cfg = copy.deepcopy(synthetic_cfg.train_dataloader.dataset)
    cfg.datasets[3] = dict(
        type='RepeatDataset', times=3, dataset=cfg.datasets[3])
    mixture = DATASETS.build(cfg)
    assert len(mixture.datasets[3]) == 3 * len(mixture.datasets[3].dataset)
    last = mixture[len(mixture) - 1]['data_samples']
    assert last.metainfo['dataset_id'] == 3
    assert last.metainfo['dataset_name'] == 'paper'
    assert mixture.metainfo['dataset_infos'][3]['ann_file'].endswith(
        'annotations/paper_train.json')


# ------------------------------------------------------------ label space


def test_labels_land_in_the_unified_space(train_mixture, tiny_synthetic):
    classes = train_mixture.metainfo['classes']
    with open(osp.join(tiny_synthetic, 'annotations/mixed_train.json')) as f:
        mixed = [c['name'] for c in json.load(f)['categories']]
    # The union in domain order is the mixed file's 17 categories.
    assert list(classes) == mixed and len(classes) == 17
    for idx in range(len(train_mixture)):
        source = train_mixture.get_dataset_source(idx)
        local_idx = idx - ([0] + train_mixture.cumulative_sizes)[source]
        raw = train_mixture.datasets[source].get_data_info(local_idx)
        own = train_mixture.datasets[source].metainfo['classes']
        expected = [own[i['bbox_label']] for i in raw['instances']]
        labels = train_mixture[idx]['data_samples'].gt_instances.labels
        assert [classes[i] for i in labels.tolist()] == expected


def test_overlapping_names_share_one_unified_id(train_mixture):
    infos = train_mixture.metainfo['dataset_infos']
    classes = train_mixture.metainfo['classes']

    def uid(domain, name):
        info = infos[DOMAINS.index(domain)]
        return info['to_unified'][info['classes'].index(name)]

    assert uid('studio', 'red circle') == uid('street', 'red circle') == \
        classes.index('red circle')
    assert uid('street', 'black letter T') == uid('paper', 'black letter T')
    assert uid('night', 'red letter X') == uid('paper', 'red letter X')
    assert uid('studio', 'orange hexagon') != uid('paper', 'orange arrow')
    # Back-mapping: classes a domain does not annotate map to -1.
    studio = infos[0]
    assert studio['to_dataset'][classes.index('black letter T')] == -1
    assert studio['to_dataset'][classes.index('red circle')] == \
        studio['classes'].index('red circle')


def test_label_table_sets_ids_merges_synonyms_and_keeps_names_apart():
    space = LabelSpace(['a', 'b'], [('car', 'person'),
                                    ('automobile', 'person')],
                       table={
                           'car': 0,
                           'automobile': 0,
                           'a/person': 1,
                           'b/person': 2
                       })
    assert space.classes == ('car', 'person', 'person')
    assert space.to_unified[0].tolist() == [0, 1]
    assert space.to_unified[1].tolist() == [0, 2]
    assert space.to_dataset[1].tolist() == [0, -1, 1]
    by_list = LabelSpace(['a'], [('x', 'y')], table=['y', 'x'])
    assert by_list.to_unified[0].tolist() == [1, 0]


def test_mixture_with_a_label_table_relabels_samples(synthetic_cfg):
    cfg = copy.deepcopy(synthetic_cfg.train_dataloader.dataset)
    names = [
        'red circle', 'blue square', 'green triangle', 'yellow star',
        'orange hexagon', 'purple diamond', 'white cross', 'yellow diamond',
        'white arrow', 'black letter T', 'cyan ring', 'pink crescent',
        'red letter X', 'blue letter L', 'green letter H', 'purple letter Z',
        'orange arrow'
    ]
    cfg.label_space = list(reversed(names))
    mixture = DATASETS.build(cfg)
    assert mixture.metainfo['classes'] == tuple(reversed(names))
    sample = mixture[0]['data_samples']
    raw = mixture.datasets[0].get_data_info(0)
    own = mixture.datasets[0].metainfo['classes']
    assert [mixture.metainfo['classes'][i]
            for i in sample.gt_instances.labels.tolist()] == \
        [own[i['bbox_label']] for i in raw['instances']]


# ---------------------------------------------------------------- sampling


def _batch_sources(loader, dataset, num_batches=None):
    out = []
    for i, batch in enumerate(loader.batch_sampler):
        out.append({dataset.get_dataset_source(idx) for idx in batch})
        if num_batches and i + 1 >= num_batches:
            break
    return out


def test_default_sampler_mixes_datasets_within_a_batch(synthetic_cfg):
    loader = _loader(synthetic_cfg, batch_size=4)
    sources = _batch_sources(loader, loader.dataset)
    assert any(len(s) > 1 for s in sources)


def test_one_dataset_per_batch_option_never_mixes(synthetic_cfg):
    loader = _loader(
        synthetic_cfg,
        batch_size=3,
        batch_sampler=dict(type='OneDatasetPerBatchSampler'))
    sources = _batch_sources(loader, loader.dataset)
    assert all(len(s) == 1 for s in sources)
    assert set().union(*sources) == set(range(4))  # every domain is drawn
    # ... and the ids reach the model the same way.
    batch = next(iter(loader))
    assert len({s.metainfo['dataset_id'] for s in batch['data_samples']}) == 1


def test_one_dataset_per_batch_takes_a_batch_size_per_dataset(synthetic_cfg):
    loader = _loader(
        synthetic_cfg,
        batch_size=1,
        batch_sampler=dict(
            type='OneDatasetPerBatchSampler',
            batch_size=[1, 2, 3, 4],
            drop_last=False))
    sizes = {}
    for batch in loader:
        ids = {s.metainfo['dataset_id'] for s in batch['data_samples']}
        assert len(ids) == 1
        sizes.setdefault(ids.pop(), set()).add(len(batch['data_samples']))
    # each dataset's batches are at most its size; drop_last=False keeps
    # the last, smaller one
    assert all(max(s) <= d + 1 for d, s in sizes.items())
    assert max(sizes[3]) == 4 and set(sizes) == {0, 1, 2, 3}


def test_ratio_sampler_follows_the_ratios(train_mixture):
    ratio = dict(studio=4, street=2, night=1, paper=1)
    sampler = DatasetRatioSampler(train_mixture, ratio, seed=0)
    counts = collections.Counter()
    for epoch in range(60):
        sampler.set_epoch(epoch)
        counts.update(train_mixture.get_dataset_source(i) for i in sampler)
    total = sum(counts.values())
    want = [4 / 8, 2 / 8, 1 / 8, 1 / 8]
    for source, share in enumerate(want):
        assert abs(counts[source] / total - share) < 0.04, (counts, want)


def test_ratio_sampler_by_list_with_a_zero_never_draws_that_dataset(
        train_mixture):
    sampler = DatasetRatioSampler(train_mixture, [1, 1, 0, 1], seed=1)
    assert 2 not in {train_mixture.get_dataset_source(i) for i in sampler}


def test_mmdet_multi_source_sampler_gives_a_fixed_batch_composition(
        synthetic_cfg):
    loader = _loader(
        synthetic_cfg,
        batch_size=4,
        batch_sampler=None,
        sampler=dict(
            type='MultiSourceSampler', batch_size=4, source_ratio=[1, 1, 1,
                                                                   1]))
    sources = []
    for i, batch in enumerate(loader.batch_sampler):
        sources.append(
            sorted(loader.dataset.get_dataset_source(j) for j in batch))
        if i == 5:
            break
    assert all(s == [0, 1, 2, 3] for s in sources)


# ------------------------------------------------------ per-dataset eval


def _gt_as_predictions(mixture, extra=None):
    """Data samples whose predictions are their ground truth (+ extras)."""
    samples = []
    for idx in range(len(mixture)):
        sample: DetDataSample = mixture[idx]['data_samples']
        gt = sample.gt_instances
        bboxes = getattr(gt.bboxes, 'tensor', gt.bboxes).clone()
        labels = gt.labels.clone()
        scores = torch.ones(len(labels))
        if extra is not None:
            more = extra(sample)
            if more is not None:
                bboxes = torch.cat([bboxes, more[0]])
                labels = torch.cat([labels, more[1]])
                scores = torch.cat([scores, more[2]])
        sample.pred_instances = InstanceData(
            bboxes=bboxes, labels=labels, scores=scores)
        samples.append(sample)
    return samples


def _evaluate(cfg, mixture, samples):
    evaluator = Evaluator(copy.deepcopy(cfg.val_evaluator))
    evaluator.dataset_meta = mixture.metainfo
    for start in range(0, len(samples), 4):  # batches, as the test loop
        evaluator.process(samples[start:start + 4])
    return evaluator.evaluate(len(samples))


def test_ground_truth_as_predictions_scores_ap_1_per_dataset_and_mean(
        synthetic_cfg, val_mixture):
    results = _evaluate(synthetic_cfg, val_mixture,
                        _gt_as_predictions(val_mixture))
    for domain in DOMAINS:
        assert results[f'{domain}/coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['mean/coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['mean/coco/bbox_mAP_50'] == pytest.approx(1.0)


def test_a_class_the_dataset_does_not_annotate_does_not_hurt_it(
        synthetic_cfg, val_mixture):
    classes = val_mixture.metainfo['classes']
    studio = val_mixture.metainfo['dataset_infos'][0]
    foreign = classes.index('black letter T')  # street and paper only
    own = classes.index('red circle')
    assert studio['to_dataset'][foreign] == -1

    def confident_box_of(label):

        def extra(sample):
            if sample.metainfo['dataset_name'] != 'studio':
                return None
            return (torch.tensor([[0., 0., 30., 30.]]), torch.tensor([label]),
                    torch.tensor([1.0]))

        return extra

    foreign_results = _evaluate(
        synthetic_cfg, val_mixture,
        _gt_as_predictions(val_mixture, confident_box_of(foreign)))
    assert foreign_results['studio/coco/bbox_mAP'] == pytest.approx(1.0)
    # The same false positive in a class studio does annotate does hurt:
    # the check above can fail.
    own_results = _evaluate(
        synthetic_cfg, val_mixture,
        _gt_as_predictions(val_mixture, confident_box_of(own)))
    assert own_results['studio/coco/bbox_mAP'] < 0.999
    assert own_results['mean/coco/bbox_mAP'] < \
        foreign_results['mean/coco/bbox_mAP']


def test_a_dataset_left_without_predictions_scores_0_in_the_mean(
        synthetic_cfg, val_mixture):
    foreign = val_mixture.metainfo['classes'].index('red circle')
    samples = _gt_as_predictions(val_mixture)
    for sample in samples:
        if sample.metainfo['dataset_name'] == 'paper':  # no red circles
            pred = sample.pred_instances
            pred.labels = torch.full_like(pred.labels, foreign)
    results = _evaluate(synthetic_cfg, val_mixture, samples)
    assert results['paper/coco/bbox_mAP'] == 0.0
    assert results['studio/coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['mean/coco/bbox_mAP'] == pytest.approx(0.75)


def test_predictions_are_mapped_back_to_the_dataset_label_space(val_mixture):
    meta = val_mixture.metainfo
    paper = meta['dataset_infos'][3]
    classes = meta['classes']
    labels = torch.tensor([
        classes.index('orange arrow'),
        classes.index('red circle'),
        classes.index('black letter T')
    ])
    sample = dict(
        pred_instances=dict(
            labels=labels,
            scores=torch.tensor([.9, .8, .7]),
            bboxes=torch.arange(12.).view(3, 4)))
    local = to_dataset_space(sample, paper, len(classes))['pred_instances']
    assert [paper['classes'][i] for i in local['labels'].tolist()] == \
        ['orange arrow', 'black letter T']
    assert local['scores'].tolist() == pytest.approx([.9, .7])
    assert local['bboxes'][1].tolist() == [8., 9., 10., 11.]


# ------------------------------------------------------------------- UODB


def test_uodb_data_config_builds_its_dataloaders_on_a_tiny_fixture(
        tmp_path, monkeypatch):
    cfg = Config.fromfile(UODB_DATA)
    names = list(cfg.uodb_classes)
    assert len(names) == 11 and cfg.num_classes == 114
    assert cfg.model.bbox_head.num_classes == cfg.num_classes
    write_layout_fixture(cfg.train_dataloader.dataset, str(tmp_path))
    write_layout_fixture(cfg.val_dataloader.dataset, str(tmp_path), seed=7)
    monkeypatch.chdir(tmp_path)  # the config's paths are relative
    datasets = {}
    for split in ('train', 'val'):
        loader = copy.deepcopy(cfg[f'{split}_dataloader'])
        loader.update(batch_size=2, num_workers=0, persistent_workers=False)
        for ds in loader.dataset.datasets:
            ds.serialize_data = False  # speed: skips a gc.collect per build
        dataloader = Runner.build_dataloader(loader, seed=0)
        datasets[split] = dataloader.dataset
        meta = dataloader.dataset.metainfo
        assert meta['dataset_names'] == tuple(names)
        assert len(meta['classes']) == 114
        assert len(dataloader.dataset) == 22  # 2 fixture images x 11
        batch = next(iter(dataloader))
        for sample in batch['data_samples']:
            assert names[sample.metainfo['dataset_id']] == \
                sample.metainfo['dataset_name']
            # A random crop may leave an image without boxes; the labels
            # that remain must lie in the unified space.
            labels = sample.gt_instances.labels
            assert ((labels >= 0) & (labels < 114)).all()
    # Per-dataset COCO evaluation reads each dataset's own annotation file.
    val = datasets['val']
    results = _evaluate(cfg, val, _gt_as_predictions(val))
    assert [k for k in results if k.endswith('/coco/bbox_mAP')] == \
        [f'{n}/coco/bbox_mAP' for n in names] + ['mean/coco/bbox_mAP']
    assert results['mean/coco/bbox_mAP'] == pytest.approx(1.0)


def test_voc_layout_converts_into_the_uodb_layout(tmp_path, monkeypatch):
    cfg = Config.fromfile(UODB_DATA)
    kitti = cfg.uodb_classes['kitti']
    src = tmp_path / 'UODB' / 'KITTI'
    write_voc_fixture(str(src), kitti, splits=('train', 'test'), num_images=3)
    monkeypatch.chdir(tmp_path)
    voc_to_coco.main([
        str(src), 'data/uodb/kitti', '--dataset', 'kitti', '--config',
        UODB_DATA, '--split', 'train', '--split', 'val:test'
    ])
    with open('data/uodb/kitti/annotations/val.json') as f:
        coco = json.load(f)
    assert [c['name'] for c in coco['categories']] == list(kitti)
    assert coco['info']['skipped_objects'] == {'not-a-class': 3}
    assert sum(a['iscrowd'] for a in coco['annotations']) == 3  # difficult
    # The config's own kitti dataset reads the converted files.
    kitti_cfg = copy.deepcopy(cfg.val_dataloader.dataset.datasets[0])
    dataset = DATASETS.build(kitti_cfg)
    assert len(dataset) == 3 and dataset.metainfo['classes'] == kitti
    info = dataset.get_data_info(0)
    assert osp.isfile(info['img_path'])
    assert [i['ignore_flag'] for i in info['instances']][0] == 1


# -------------------------------------------------------------- bad input


def _tiny_mixture_cfg(cfg, **kwargs):
    mixture = copy.deepcopy(cfg.train_dataloader.dataset)
    mixture.update(kwargs)
    return mixture


@pytest.mark.parametrize('kwargs, error, match', [
    (dict(datasets=[]), ValueError, 'datasets` is empty'),
    (dict(names=['a', 'b']), ValueError, r'2 names .* for 4 datasets'),
    (dict(names=['a', 'b', 'a', 'c']), ValueError, r"repeated: \['a'\]"),
    (dict(names=['mean', 'b', 'c', 'd']), ValueError, "'mean'"),
])
def test_bad_mixture_config_errors_name_the_problem(synthetic_cfg, kwargs,
                                                    error, match):
    with pytest.raises(error, match=match):
        DATASETS.build(_tiny_mixture_cfg(synthetic_cfg, **kwargs))


def test_label_table_naming_a_class_no_dataset_has_is_an_error(synthetic_cfg):
    union = list(
        DATASETS.build(_tiny_mixture_cfg(synthetic_cfg)).metainfo['classes'])
    table = {n: i for i, n in enumerate(union)}
    table['red circel'] = 0
    with pytest.raises(
            ValueError,
            match=r"no dataset has: \['red circel'\]"
            r".*close: \['red circle'"):
        DATASETS.build(_tiny_mixture_cfg(synthetic_cfg, label_space=table))


def test_dataset_class_missing_from_the_label_table_is_an_error(synthetic_cfg):
    union = list(
        DATASETS.build(_tiny_mixture_cfg(synthetic_cfg)).metainfo['classes'])
    table = {n: i for i, n in enumerate(union) if n != 'orange arrow'}
    with pytest.raises(
            ValueError,
            match=r"dataset 'paper': classes "
            r"\['orange arrow'\] are missing from label_space"):
        DATASETS.build(_tiny_mixture_cfg(synthetic_cfg, label_space=table))


@pytest.mark.parametrize('table, error, match', [
    ({
        'x': 0,
        'y': 2
    }, ValueError, r'0\.\.K-1'),
    ({
        'x': 0,
        'y': 0
    }, ValueError, "'x' and 'y' both map to unified id 0"),
    ({
        'x': 0,
        'y': '1'
    }, TypeError, "label_space\\['y'\\] = '1'"),
    ({}, ValueError, 'label_space is empty'),
    (['x', 'y', 'x'], ValueError, r"lists names twice: \['x'\]"),
    ({
        'x': 0,
        'y': 1,
        'other/y': 1
    }, ValueError, "no dataset has"),
])
def test_bad_label_tables_are_errors(table, error, match):
    with pytest.raises(error, match=match):
        LabelSpace(['a'], [('x', 'y')], table)


def test_dataset_without_classes_is_an_error():
    with pytest.raises(ValueError, match="dataset 'b' has no classes"):
        LabelSpace(['a', 'b'], [('x', ), ()])


def test_pipeline_without_pack_inputs_is_an_error(synthetic_cfg):
    cfg = _tiny_mixture_cfg(synthetic_cfg)
    cfg.datasets[2].pipeline = cfg.datasets[2].pipeline[:-1]
    with pytest.raises(
            ValueError, match="dataset 'night' has no "
            'PackDetInputs'):
        DATASETS.build(cfg)


def test_pipeline_packed_by_an_outer_wrapper_is_allowed_when_asked(
        synthetic_cfg):
    cfg = _tiny_mixture_cfg(synthetic_cfg)
    for ds in cfg.datasets:
        ds.pipeline = ds.pipeline[:-1]  # no PackDetInputs
    cfg.require_pack_inputs = False
    sample = DATASETS.build(cfg)[0]
    assert sample['dataset_name'] == 'studio'  # tagged, left unpacked


def test_lazy_mixture_initialises_on_first_use(synthetic_cfg):
    cfg = _tiny_mixture_cfg(synthetic_cfg)
    cfg.lazy_init = True
    mixture = DATASETS.build(cfg)
    assert mixture.label_space is None  # nothing read yet
    assert len(mixture.metainfo['classes']) == 17  # reads the files
    assert mixture.label_space is not None


def test_custom_meta_keys_still_get_the_dataset_keys(synthetic_cfg):
    cfg = _tiny_mixture_cfg(synthetic_cfg)
    for ds in cfg.datasets:
        ds.pipeline[-1]['meta_keys'] = ('img_id', 'img_path', 'ori_shape',
                                        'img_shape', 'scale_factor')
    sample = DATASETS.build(cfg)[0]['data_samples']
    assert sample.metainfo['dataset_id'] == 0
    assert sample.metainfo['dataset_name'] == 'studio'


def test_evaluating_without_dataset_ids_is_an_error(synthetic_cfg,
                                                    val_mixture):
    samples = _gt_as_predictions(val_mixture)[:2]
    for s in samples:
        s.set_metainfo(dict(dataset_id=None))
    evaluator = Evaluator(copy.deepcopy(synthetic_cfg.val_evaluator))
    evaluator.dataset_meta = val_mixture.metainfo
    with pytest.raises(KeyError, match="no 'dataset_id'"):
        evaluator.process(samples)


def test_head_with_more_classes_than_the_label_space_is_an_error(val_mixture):
    meta = val_mixture.metainfo
    sample = dict(
        pred_instances=dict(
            labels=torch.tensor([3, 19]),
            scores=torch.ones(2),
            bboxes=torch.zeros(2, 4)))
    with pytest.raises(ValueError, match='num_classes=17'):
        to_dataset_space(sample, meta['dataset_infos'][0],
                         len(meta['classes']))


def test_per_dataset_metric_needs_a_mixture(synthetic_cfg):
    evaluator = Evaluator(copy.deepcopy(synthetic_cfg.val_evaluator))
    with pytest.raises(ValueError, match="'dataset_infos'"):
        evaluator.dataset_meta = dict(classes=('a', ))


@pytest.mark.parametrize('ratio, match', [
    ([1, 1], r'give 4 non-negative weights'),
    ([1, -1, 1, 1], r'non-negative'),
    (dict(studio=1, mars=2), r"names \['mars'\] are not datasets"),
])
def test_bad_dataset_ratios_are_errors(train_mixture, ratio, match):
    with pytest.raises(ValueError, match=match):
        DatasetRatioSampler(train_mixture, ratio, seed=0)


def test_one_dataset_per_batch_needs_a_mixture(synthetic_cfg, tiny_synthetic):
    loader = dict(
        batch_size=2,
        num_workers=0,
        sampler=dict(type='DefaultSampler', shuffle=False),
        batch_sampler=dict(type='OneDatasetPerBatchSampler'),
        dataset=copy.deepcopy(
            synthetic_cfg.train_dataloader.dataset.datasets[0]))
    with pytest.raises(
            TypeError, match='needs a sampler over a '
            'DatasetMixture'):
        Runner.build_dataloader(loader, seed=0)
