"""What the synthetic benchmark contains: categories, domains and difficulty knobs.

Everything here is data; :mod:`.render` draws it and :mod:`.generate` writes it.
A *category* is a natural-language phrase ("red circle", "blue letter T") made
of a colour and a shape, so it can be used as a text prompt. A *domain* is a
separate dataset with its own backgrounds, palette jitter, textures and label
set; label sets differ and partly overlap across domains. Some colour/shape
combinations never appear in any training domain: they form the zero-shot
split for open-vocabulary testing.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Base colours (RGB) for object categories. Domains jitter them slightly.
COLOURS: dict[str, tuple[int, int, int]] = {
    'red': (220, 30, 40),
    'green': (40, 170, 60),
    'blue': (35, 75, 220),
    'yellow': (245, 210, 30),
    'purple': (140, 50, 190),
    'orange': (250, 130, 20),
    'cyan': (30, 200, 220),
    'pink': (250, 120, 190),
    'white': (245, 245, 245),
    'black': (20, 20, 20),
}

# Shapes: geometric primitives and stroke glyphs (letters drawn with lines).
SHAPES: tuple[str, ...] = ('circle', 'square', 'triangle', 'star', 'hexagon',
                           'diamond', 'cross', 'ring', 'arrow', 'crescent',
                           'letter T', 'letter L', 'letter X', 'letter H',
                           'letter Z')


@dataclass(frozen=True)
class Category:
    """One object category; ``name`` is the text prompt."""
    colour: str
    shape: str

    @property
    def name(self) -> str:
        return f'{self.colour} {self.shape}'

    @property
    def family(self) -> str:
        """COCO ``supercategory``: glyphs vs geometric shapes."""
        return 'glyph' if self.shape.startswith('letter') else 'shape'


def _cats(*names: str) -> tuple[Category, ...]:
    out = []
    for name in names:
        colour, shape = name.split(' ', 1)
        assert colour in COLOURS and shape in SHAPES, name
        out.append(Category(colour, shape))
    return tuple(out)


@dataclass(frozen=True)
class Domain:
    """A visual domain written as its own dataset.

    Args:
        name: dataset name, used in file names.
        background: background style drawn by :func:`render.draw_background`.
        categories: the label set of this domain.
        textures: object fill styles used here (nuisance, not part of a label).
        colour_jitter: max per-channel jitter of object colours (0-255 units).
        clutter_palette: 'light' or 'dark' distractor strokes.
    """
    name: str
    background: str
    categories: tuple[Category, ...]
    textures: tuple[str, ...] = ('solid', )
    colour_jitter: int = 20
    clutter_palette: str = 'dark'


# Four training domains with different and partly overlapping label sets.
# Overlaps: 'red circle' (studio, street), 'blue square' (studio, street),
# 'green triangle' (studio, night), 'yellow star' (studio, night),
# 'white cross' (street, night), 'black letter T' (street, paper),
# 'red letter X' (night, paper).
DOMAINS: dict[str, Domain] = {
    d.name: d
    for d in (
        Domain(
            'studio',
            'gradient',
            _cats('red circle', 'blue square', 'green triangle', 'yellow star',
                  'orange hexagon', 'purple diamond'),
            textures=('solid', 'shaded')),
        Domain(
            'street',
            'asphalt',
            _cats('red circle', 'blue square', 'white cross', 'yellow diamond',
                  'white arrow', 'black letter T'),
            textures=('solid', 'stripes'),
            colour_jitter=30,
            clutter_palette='light'),
        Domain(
            'night',
            'night',
            _cats('green triangle', 'yellow star', 'white cross', 'cyan ring',
                  'pink crescent', 'red letter X'),
            textures=('solid', 'glow'),
            colour_jitter=15,
            clutter_palette='light'),
        Domain(
            'paper',
            'paper',
            _cats('black letter T', 'red letter X', 'blue letter L',
                  'green letter H', 'purple letter Z', 'orange arrow'),
            textures=('solid', 'dots', 'stripes'),
            colour_jitter=25),
    )
}

# Colour/shape combinations that no training domain contains; both their
# colour and their shape are seen in training, the combination is not.
ZERO_SHOT_DOMAIN = Domain(
    'zeroshot',
    'gradient',
    _cats('purple circle', 'orange square', 'cyan triangle', 'pink star',
          'blue hexagon', 'yellow letter L'),
    textures=('solid', 'shaded'))


def all_categories() -> tuple[Category, ...]:
    """Every category in a fixed order; its index + 1 is the COCO id."""
    seen: dict[str, Category] = {}
    for dom in (*DOMAINS.values(), ZERO_SHOT_DOMAIN):
        for cat in dom.categories:
            seen.setdefault(cat.name, cat)
    return tuple(seen.values())


@dataclass(frozen=True)
class DifficultyKnobs:
    """Image difficulty as a function of one latent value ``t`` in [0, 1].

    Every knob is a pair ``(value at t=0, value at t=1)``; an image's values
    are interpolated at its ``t`` (with a little per-object randomness).
    """
    num_objects: tuple[float, float] = (1, 9)
    object_size: tuple[float, float] = (0.42, 0.11)  # of the shorter side
    occlusion: tuple[float, float] = (0.0, 0.5)  # max hidden fraction
    clutter: tuple[float, float] = (0, 14)  # distractor strokes and blobs
    noise: tuple[float, float] = (0.0, 16.0)  # Gaussian sigma, 0-255 units
    blur: tuple[float, float] = (0.0, 1.4)  # Gaussian blur radius in pixels

    def at(self, t: float) -> dict[str, float]:
        """Knob values at difficulty ``t``."""
        return {k: lo + (hi - lo) * t for k, (lo, hi) in self.__dict__.items()}


# Latent difficulty bands: easy images draw t here, hard images there.
EASY_BAND = (0.0, 0.3)
HARD_BAND = (0.7, 1.0)


@dataclass(frozen=True)
class SyntheticSpec:
    """Everything that determines the generated files (with the seed).

    Args:
        domains: training domains to write (names from :data:`DOMAINS`).
        num_train: training images per domain.
        num_val: validation images per domain.
        num_zeroshot: images in the held-out-category split (0 to skip).
        img_size: (width, height) in pixels.
        hard_ratio: fraction of images drawn from the hard difficulty band.
        knobs: how difficulty maps to object count, size, occlusion, ...
    """
    domains: tuple[str, ...] = tuple(DOMAINS)
    num_train: int = 500
    num_val: int = 100
    num_zeroshot: int = 100
    img_size: tuple[int, int] = (128, 128)
    hard_ratio: float = 0.5
    knobs: DifficultyKnobs = field(default_factory=DifficultyKnobs)

    def __post_init__(self) -> None:
        unknown = [d for d in self.domains if d not in DOMAINS]
        if unknown or not self.domains:
            raise ValueError(
                f'domains={list(self.domains)!r}: unknown {unknown}; '
                f'allowed: {sorted(DOMAINS)}')
        if not 0.0 <= self.hard_ratio <= 1.0:
            raise ValueError(f'hard_ratio={self.hard_ratio} must be in [0, 1]')
        for key in ('num_train', 'num_val', 'num_zeroshot'):
            if getattr(self, key) < 0:
                raise ValueError(f'{key}={getattr(self, key)} must be >= 0')
        w, h = self.img_size
        if min(w, h) < 32:
            raise ValueError(f'img_size={self.img_size}: both sides >= 32')
