"""One label space for a mixture of datasets with their own label sets.

Plain Python (no mmdet): given each dataset's class names and an optional
name -> unified-id table, :class:`LabelSpace` says which unified id every
dataset class gets, the unified class names, and how to map unified ids back
to one dataset's own ids (for evaluating that dataset in its label space).
"""
from __future__ import annotations

import difflib
from typing import Mapping, Sequence, Union

import numpy as np

#: A label-space table: ``{class name: unified id}`` (several names may share
#: an id: synonyms), or a sequence of unified class names (name ``i`` -> id
#: ``i``). A key ``'<dataset name>/<class name>'`` applies to that dataset
#: only and wins over the plain name (keeps same-named classes of two
#: datasets apart, or merges differently-named ones).
LabelSpaceTable = Union[Mapping[str, int], Sequence[str]]


class LabelSpace:
    """Unified label space of datasets with different, overlapping label sets.

    Without a table, the unified classes are the union of all datasets'
    names in dataset order (first occurrence wins the position): equal names
    share one id. With a table, every dataset class must be in it, every table
    entry must name a class of some dataset, and its ids must be
    ``0 .. K-1`` (each used).

    Args:
        dataset_names: name of each dataset, unique, ``(D,)``.
        dataset_classes: each dataset's class names in its own label order;
            ``dataset_classes[d][i]`` is the name of label ``i`` of dataset
            ``d``.
        table: optional :data:`LabelSpaceTable`.

    Attributes:
        classes: unified class names, ``(K,)``; the name of id ``k`` is the
            first table entry with id ``k`` (or the first occurrence in the
            union).
        to_unified: per dataset, ``np.ndarray`` ``(C_d,)`` int64: local label
            -> unified id.
        to_dataset: per dataset, ``np.ndarray`` ``(K,)`` int64: unified id ->
            local label, ``-1`` where the dataset does not annotate the class.

    Raises:
        ValueError: no datasets, duplicate dataset names, a dataset without
            classes or with a repeated class name, a table that misses a
            dataset's class or names a class no dataset has, ids that are not
            ``0 .. K-1``, or two classes of one dataset mapped to one id.
    """

    def __init__(self,
                 dataset_names: Sequence[str],
                 dataset_classes: Sequence[Sequence[str]],
                 table: LabelSpaceTable | None = None) -> None:
        names = [str(n) for n in dataset_names]
        classes = [tuple(str(c) for c in cs) for cs in dataset_classes]
        _check_datasets(names, classes)
        self.dataset_names: tuple[str, ...] = tuple(names)
        self.dataset_classes: tuple[tuple[str, ...], ...] = tuple(classes)
        if table is None:
            unified, ids = _union(classes)
        else:
            unified, ids = _from_table(names, classes, table)
        self.classes: tuple[str, ...] = unified
        self.to_unified: tuple[np.ndarray, ...] = tuple(
            np.asarray(i, dtype=np.int64) for i in ids)
        self.to_dataset: tuple[np.ndarray, ...] = tuple(
            _inverse(n, cs, i, len(unified))
            for n, cs, i in zip(names, classes, self.to_unified))

    @property
    def num_classes(self) -> int:
        """``K``, the number of unified classes."""
        return len(self.classes)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'datasets={list(self.dataset_names)})')


def _check_datasets(names: list[str], classes: list[tuple[str, ...]]) -> None:
    if not names:
        raise ValueError('LabelSpace: no datasets given')
    if len(names) != len(classes):
        raise ValueError(f'LabelSpace: {len(names)} dataset names but '
                         f'{len(classes)} class lists')
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'dataset names must be unique; repeated: {dup}')
    for name, cs in zip(names, classes):
        if not cs:
            raise ValueError(
                f'dataset {name!r} has no classes: set its metainfo=dict('
                "classes=(...)) or use a dataset type that reads them")
        rep = sorted({c for c in cs if cs.count(c) > 1})
        if rep:
            raise ValueError(
                f'dataset {name!r} lists class names twice: {rep}')


def _union(
        classes: list[tuple[str,
                            ...]]) -> tuple[tuple[str, ...], list[list[int]]]:
    """Union of the names in dataset order; equal names share an id."""
    index: dict[str, int] = {}
    for cs in classes:
        for c in cs:
            index.setdefault(c, len(index))
    return tuple(index), [[index[c] for c in cs] for cs in classes]


def _from_table(
        names: list[str], classes: list[tuple[str, ...]],
        table: LabelSpaceTable) -> tuple[tuple[str, ...], list[list[int]]]:
    if isinstance(table, str) or not isinstance(table, (Mapping, Sequence)):
        raise TypeError(
            'label_space must be a {class name: unified id} mapping or a '
            f'sequence of class names, got {type(table).__name__}')
    if not isinstance(table, Mapping):
        listed = [str(n) for n in table]
        rep = sorted({n for n in listed if listed.count(n) > 1})
        if rep:
            raise ValueError(f'label_space lists names twice: {rep}')
        table = {n: i for i, n in enumerate(listed)}
    if not table:
        raise ValueError('label_space is empty; give None to build it as '
                         "the union of the datasets' classes")
    for key, uid in table.items():
        if isinstance(uid, bool) or not isinstance(uid, (int, np.integer)):
            raise TypeError(f'label_space[{key!r}] = {uid!r}: unified ids '
                            'must be ints')
    table = {str(k): int(v) for k, v in table.items()}

    # Every table entry names a class of some dataset.
    all_names = {c for cs in classes for c in cs}
    unknown = []
    for key in table:
        ds, sep, cls = key.partition('/')
        if sep and ds in names:
            if cls not in classes[names.index(ds)]:
                unknown.append(key)
        elif key not in all_names:
            unknown.append(key)
    if unknown:
        hints = {
            k:
            difflib.get_close_matches(
                k.rpartition('/')[2], sorted(all_names), n=2)
            for k in unknown
        }
        hint = '; '.join(f'{k!r} (close: {v})' for k, v in hints.items() if v)
        raise ValueError(
            f'label_space names classes that no dataset has: {unknown}' +
            (f'; did you mean: {hint}' if hint else '') +
            f'. Datasets: {names}')

    # Every dataset class is in the table.
    ids: list[list[int]] = []
    for ds, cs in zip(names, classes):
        missing = [
            c for c in cs if f'{ds}/{c}' not in table and c not in table
        ]
        if missing:
            raise ValueError(
                f'dataset {ds!r}: classes {missing} are missing from '
                'label_space; add them (as "<class>" or '
                f'"{ds}/<class>") or give label_space=None for the union')
        ids.append([table.get(f'{ds}/{c}', table.get(c)) for c in cs])

    used = sorted(set(table.values()))
    num = len(used)
    if used != list(range(num)):
        raise ValueError(
            f'label_space ids must be 0..K-1 with each id used; got ids '
            f'{used[:10]}{"..." if num > 10 else ""} ({num} distinct)')
    unified: list[str | None] = [None] * num
    for key, uid in table.items():
        if unified[uid] is None:
            unified[uid] = key.rpartition('/')[2] if \
                key.partition('/')[0] in names else key
    return tuple(unified), ids  # type: ignore[arg-type]


def _inverse(name: str, classes: tuple[str, ...], to_unified: np.ndarray,
             num_unified: int) -> np.ndarray:
    """Unified id -> local label (-1: not annotated by this dataset)."""
    inverse = np.full(num_unified, -1, dtype=np.int64)
    for local, uid in enumerate(to_unified.tolist()):
        if inverse[uid] >= 0:
            other = classes[int(inverse[uid])]
            raise ValueError(
                f'dataset {name!r}: classes {other!r} and {classes[local]!r} '
                f'both map to unified id {uid}; one dataset\'s classes need '
                'distinct ids (or its predictions could not be mapped back)')
        inverse[uid] = local
    return inverse
