"""Built-in synthetic detection benchmark (no downloads, plain numpy + PIL)."""
from .generate import generate, is_complete, render_image
from .spec import (DOMAINS, ZERO_SHOT_DOMAIN, Category, DifficultyKnobs,
                   Domain, SyntheticSpec, all_categories)

__all__ = [
    'generate', 'is_complete', 'render_image', 'DOMAINS', 'ZERO_SHOT_DOMAIN',
    'Category', 'DifficultyKnobs', 'Domain', 'SyntheticSpec', 'all_categories'
]
