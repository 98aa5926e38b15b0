"""DatasetExpertMap: which expert(s) each dataset's tokens are taught to use."""
from __future__ import annotations

from typing import Mapping, Sequence, Union

import torch
from torch import Tensor

#: ``{dataset name: expert index or indices}``
DatasetExperts = Mapping[str, Union[int, Sequence[int]]]


class DatasetExpertMap:
    """DAMEX's dataset -> expert(s) mapping, checked against the experts.

    One expert per dataset, several datasets per expert, or several experts
    per dataset (the target is then uniform over them) are all allowed; the
    number of experts does not depend on the number of processes.

    Args:
        mapping: ``{dataset name: expert index or list of indices}``.
        num_experts: experts of every MoE layer the targets are for.

    Raises:
        ValueError: empty mapping, an expert outside ``[0, num_experts)``,
            or a dataset mapped to no expert.
    """

    def __init__(self, mapping: DatasetExperts, num_experts: int) -> None:
        if not mapping:
            raise ValueError('dataset_experts is empty: map each dataset name '
                             'to an expert index (or a list of them)')
        self.num_experts = num_experts
        self.experts: dict[str, list[int]] = {}
        for name, experts in mapping.items():
            experts = [experts] if isinstance(experts, int) else list(experts)
            bad = [
                e for e in experts
                if not isinstance(e, int) or not 0 <= e < num_experts
            ]
            if not experts or bad:
                raise ValueError(
                    f'dataset_experts[{name!r}] = {experts}: each dataset '
                    f'needs expert indices in [0, {num_experts}) (the MoE '
                    f'layers have {num_experts} experts)')
            self.experts[str(name)] = experts

    def check_datasets(self, dataset_names: Sequence[str]) -> None:
        """Refuse a mapping that does not match the training datasets.

        Raises:
            ValueError: the mapping names a dataset the data does not have,
                or a dataset of the data is missing from the mapping.
        """
        unknown = sorted(set(self.experts) - set(dataset_names))
        missing = sorted(set(dataset_names) - set(self.experts))
        if unknown or missing:
            raise ValueError(
                f'dataset_experts does not match the training datasets '
                f'{list(dataset_names)}: ' +
                (f'it names datasets that do not exist: {unknown}; '
                 if unknown else '') +
                (f'datasets missing from it: {missing}' if missing else ''))

    def targets(self, dataset_names: Sequence[str]) -> Tensor:
        """(B, E) target expert distribution for each image's dataset.

        Raises:
            KeyError: an image's dataset is not in the mapping.
        """
        out = torch.zeros(len(dataset_names), self.num_experts)
        for i, name in enumerate(dataset_names):
            if name not in self.experts:
                raise KeyError(
                    f'dataset {name!r} is missing from dataset_experts '
                    f'(mapped: {sorted(self.experts)})')
            out[i, self.experts[name]] = 1.0 / len(self.experts[name])
        return out
