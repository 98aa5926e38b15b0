"""Write the synthetic benchmark as COCO-format datasets.

Layout under ``out_dir``::

    meta.json                              # spec, seed, categories (written last)
    images/{domain}/{split}/{idx:06d}.png
    annotations/{domain}_{split}.json      # one dataset per domain and split
    annotations/mixed_{split}.json         # all training domains together
    annotations/zeroshot_val.json          # held-out category names

Category ids are global (the same name has the same id in every file); each
per-domain file lists only its own categories. Each image entry carries its
``domain``, its latent ``difficulty`` in [0, 1], whether it was drawn
``hard``, and the knob values used. Each annotation records how much of the
object is ``occluded``. Same seed and spec give byte-identical files.
"""
from __future__ import annotations

import dataclasses
import json
import os
import os.path as osp
import zlib
from typing import Any

import numpy as np

from . import render
from .spec import (COLOURS, DOMAINS, EASY_BAND, HARD_BAND, ZERO_SHOT_DOMAIN,
                   Category, Domain, SyntheticSpec, all_categories)

GENERATOR_VERSION = 1
_SPLITS = ('train', 'val')
_MAX_TRIES = 40  # placement attempts per object before it is skipped


def _rng(seed: int, *keys: str | int) -> np.random.Generator:
    """Independent stream per (seed, keys): images do not depend on order."""
    words = [seed] + [
        zlib.crc32(k.encode()) if isinstance(k, str) else int(k) for k in keys
    ]
    return np.random.default_rng(words)


def _place(mask: np.ndarray, owner: np.ndarray, areas: list[int],
           max_occlusion: float,
           rng: np.random.Generator) -> tuple[int, int] | None:
    """Top-left corner where ``mask`` hides no earlier object beyond limits."""
    H, W = owner.shape
    h, w = mask.shape
    if h > H or w > W:
        return None
    for _ in range(_MAX_TRIES):
        y = int(rng.integers(0, H - h + 1))
        x = int(rng.integers(0, W - w + 1))
        covered = owner[y:y + h, x:x + w][mask]
        hidden = np.bincount(covered[covered >= 0], minlength=len(areas))
        ok = True
        for j, lost in enumerate(hidden):
            if not lost:
                continue
            visible = int((owner == j).sum()) - int(lost)
            if visible < (1.0 - max_occlusion) * areas[j] or visible <= 0:
                ok = False
                break
        if ok:
            return x, y
    return None


def render_image(domain: Domain, spec: SyntheticSpec, seed: int, split: str,
                 index: int) -> tuple[Any, dict, list[dict]]:
    """Draw one image.

    Returns:
        (PIL image, image-level fields, annotations with ``category`` names
        and integer ``bbox`` [x, y, w, h] of the visible pixels).
    """
    rng = _rng(seed, domain.name, split, index)
    W, H = spec.img_size
    hard = bool(rng.random() < spec.hard_ratio)
    lo, hi = HARD_BAND if hard else EASY_BAND
    t = float(rng.uniform(lo, hi))
    knobs = spec.knobs.at(t)
    n_obj = max(1, int(round(knobs['num_objects'] + rng.uniform(-1, 1))))
    n_clutter = int(round(knobs['clutter']))

    img = render.draw_background(domain.background, (W, H), rng)
    img = render.draw_clutter(img, n_clutter, domain.clutter_palette, rng)
    owner = np.full((H, W), -1, dtype=np.int32)
    areas: list[int] = []
    cats: list[Category] = []
    side = min(W, H)
    for _ in range(n_obj):
        cat = domain.categories[int(rng.integers(len(domain.categories)))]
        size = max(8.0, knobs['object_size'] * side * rng.uniform(0.8, 1.2))
        mask = render.shape_mask(cat.shape, size, rng)
        pos = _place(mask, owner, areas, knobs['occlusion'], rng)
        if pos is None:
            continue
        x, y = pos
        h, w = mask.shape
        jitter = rng.uniform(-domain.colour_jitter, domain.colour_jitter, 3)
        colour = np.clip(np.array(COLOURS[cat.colour]) + jitter, 0, 255)
        texture = domain.textures[int(rng.integers(len(domain.textures)))]
        patch = render.texture_patch(colour, texture, (h, w), rng)
        region = img[y:y + h, x:x + w]
        region[mask] = patch[mask]
        owner[y:y + h, x:x + w][mask] = len(areas)
        areas.append(int(mask.sum()))
        cats.append(cat)
    pil = render.finish(img, knobs['blur'], knobs['noise'], rng)

    anns = []
    for j, cat in enumerate(cats):
        ys, xs = np.nonzero(owner == j)
        x0, y0 = int(xs.min()), int(ys.min())
        anns.append(
            dict(
                category=cat.name,
                bbox=[x0, y0,
                      int(xs.max()) + 1 - x0,
                      int(ys.max()) + 1 - y0],
                area=int(len(xs)),
                occluded=round(1.0 - len(xs) / areas[j], 4)))
    info = dict(
        domain=domain.name,
        difficulty=round(t, 4),
        hard=hard,
        knobs={
            k: round(float(v), 4)
            for k, v in knobs.items()
        })
    info['knobs']['num_objects'] = len(cats)
    info['knobs']['clutter'] = n_clutter
    return pil, info, anns


def _write_json(path: str, obj: Any) -> None:
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
    os.replace(tmp, path)


class _CocoBuilder:
    """Accumulates images and annotations with globally unique ids."""

    def __init__(self, categories: tuple[Category, ...]) -> None:
        self.cat_ids = {c.name: i + 1 for i, c in enumerate(categories)}
        self.all_categories = categories
        self.next_img = 1
        self.next_ann = 1

    def categories(self, cats: tuple[Category, ...]) -> list[dict]:
        return [
            dict(
                id=self.cat_ids[c.name],
                name=c.name,
                supercategory=c.family,
                colour=c.colour,
                shape=c.shape) for c in cats
        ]

    def add(self, file_name: str, size: tuple[int, int], info: dict,
            anns: list[dict]) -> tuple[dict, list[dict]]:
        img_id = self.next_img
        self.next_img += 1
        image = dict(
            id=img_id,
            file_name=file_name,
            width=size[0],
            height=size[1],
            **info)
        out = []
        for a in anns:
            out.append(
                dict(
                    id=self.next_ann,
                    image_id=img_id,
                    category_id=self.cat_ids[a['category']],
                    bbox=a['bbox'],
                    area=a['area'],
                    iscrowd=0,
                    occluded=a['occluded']))
            self.next_ann += 1
        return image, out


def _write_split(out_dir: str, domain: Domain, split: str, count: int,
                 spec: SyntheticSpec, seed: int, builder: _CocoBuilder,
                 category_set: tuple[Category, ...]) -> dict:
    img_dir = osp.join(out_dir, 'images', domain.name, split)
    os.makedirs(img_dir, exist_ok=True)
    images, anns = [], []
    for i in range(count):
        pil, info, raw = render_image(domain, spec, seed, split, i)
        rel = f'images/{domain.name}/{split}/{i:06d}.png'
        pil.save(osp.join(out_dir, rel), format='PNG', compress_level=6)
        image, a = builder.add(rel, spec.img_size, info, raw)
        images.append(image)
        anns.extend(a)
    coco = dict(
        info=dict(
            description=f'mmdet_dynmoe synthetic: {domain.name} '
            f'{split}',
            version=GENERATOR_VERSION,
            seed=seed),
        images=images,
        annotations=anns,
        categories=builder.categories(category_set))
    _write_json(
        osp.join(out_dir, 'annotations', f'{domain.name}_{split}.json'), coco)
    return coco


def spec_to_dict(spec: SyntheticSpec) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(spec)))


def generate(out_dir: str,
             spec: SyntheticSpec | None = None,
             seed: int = 0) -> dict:
    """Write the benchmark; returns the content of ``meta.json``.

    Args:
        out_dir: data root to write (created if missing).
        spec: what to generate; defaults to :class:`SyntheticSpec()`.
        seed: master seed; every image has its own stream derived from it.
    """
    spec = spec or SyntheticSpec()
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    cats = all_categories()
    builder = _CocoBuilder(cats)
    domains = [DOMAINS[d] for d in spec.domains]
    mixed_cats = tuple(
        c for c in cats if any(c in d.categories for d in domains))
    counts = dict(train=spec.num_train, val=spec.num_val)
    per_split: dict[str, list[dict]] = {s: [] for s in _SPLITS}
    for dom in domains:
        for split in _SPLITS:
            per_split[split].append(
                _write_split(out_dir, dom, split, counts[split], spec, seed,
                             builder, dom.categories))
    for split in _SPLITS:
        parts = per_split[split]
        mixed = dict(
            info=dict(
                description=f'mmdet_dynmoe synthetic: mixed {split}',
                version=GENERATOR_VERSION,
                seed=seed),
            images=[im for p in parts for im in p['images']],
            annotations=[a for p in parts for a in p['annotations']],
            categories=builder.categories(mixed_cats))
        _write_json(
            osp.join(out_dir, 'annotations', f'mixed_{split}.json'), mixed)
    if spec.num_zeroshot:
        _write_split(out_dir, ZERO_SHOT_DOMAIN, 'val', spec.num_zeroshot, spec,
                     seed, builder, ZERO_SHOT_DOMAIN.categories)
    meta = dict(
        generator_version=GENERATOR_VERSION,
        seed=seed,
        spec=spec_to_dict(spec),
        categories=builder.categories(cats),
        domains={
            d.name: [c.name for c in d.categories]
            for d in (*domains, ZERO_SHOT_DOMAIN)
        },
        zeroshot_categories=[c.name for c in ZERO_SHOT_DOMAIN.categories])
    # meta.json last: its presence marks a complete dataset.
    _write_json(osp.join(out_dir, 'meta.json'), meta)
    return meta


def is_complete(out_dir: str, spec: SyntheticSpec, seed: int) -> bool:
    """True when ``out_dir`` holds a finished dataset of this spec and seed."""
    path = osp.join(out_dir, 'meta.json')
    if not osp.isfile(path):
        return False
    with open(path) as f:
        meta = json.load(f)
    return (meta.get('generator_version') == GENERATOR_VERSION
            and meta.get('seed') == seed
            and meta.get('spec') == spec_to_dict(spec))
