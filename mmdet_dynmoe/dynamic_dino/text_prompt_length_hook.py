"""TextPromptLengthHook: refuse class-name prompts the text encoder truncates."""
from __future__ import annotations

import warnings

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from mmdet_dynmoe.engine import unwrap_model
from mmdet_dynmoe.engine.hooks.training_data_check_hook import leaf_datasets


@HOOKS.register_module()
class TextPromptLengthHook(Hook):
    """Check that the joined class names fit the text encoder.

    Grounding DINO prompts with all class names joined (``"red circle.
    blue square. ..."``); the tokenizer silently truncates at the language
    model's ``max_tokens``, so the names past it never get a positive in
    training and are never detected. This hook counts the tokens of each
    split's prompt before training / validation / testing.

    Args:
        strict: raise (default) instead of warning when a prompt is too
            long for training; evaluation prompts only warn (mmdet can chunk
            them with ``test_cfg.chunked_size``).
    """

    priority = 'LOW'

    def __init__(self, strict: bool = True) -> None:
        self.strict = strict

    def before_train(self, runner) -> None:
        self._check(runner, runner.train_dataloader.dataset, 'train',
                    self.strict)

    def before_val(self, runner) -> None:
        self._check(runner, runner.val_dataloader.dataset, 'val', False)

    def before_test(self, runner) -> None:
        self._check(runner, runner.test_dataloader.dataset, 'test', False)

    @staticmethod
    def prompt_tokens(model, classes) -> int:
        """Tokens of the prompt ``model`` builds from ``classes``."""
        from mmdet.models.detectors.glip import clean_label_name
        caption, _ = model.to_plain_text_prompts(
            [clean_label_name(c) for c in classes])
        return len(model.language_model.tokenizer(caption).input_ids)

    def _check(self, runner, dataset, split: str, strict: bool) -> None:
        model = unwrap_model(runner.model)
        if getattr(model, 'language_model', None) is None:
            return
        # each dataset of a ConcatDataset prompts with its own names
        for leaf in leaf_datasets(dataset):
            classes = leaf.metainfo.get('classes')
            if classes:
                self._check_prompt(model, classes, split, strict)

    def _check_prompt(self, model, classes, split: str, strict: bool) -> None:
        language_model = model.language_model
        num = self.prompt_tokens(model, classes)
        limit = language_model.max_tokens
        if num <= limit:
            return
        msg = (f'the {split} text prompt (the {len(classes)} class names '
               f'joined) is {num} tokens, more than the text encoder\'s '
               f'max_tokens={limit}: class names past token {limit} are cut '
               'off and can never be detected. Use fewer or shorter class '
               'names per prompt, or raise language_model.max_tokens '
               '(<= the encoder\'s position embeddings)')
        if strict:
            raise ValueError(msg)
        warnings.warn(msg)
