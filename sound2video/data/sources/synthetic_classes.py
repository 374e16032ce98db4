"""The synthetic source's classes, each named once, here: every class has a picture recipe in ``synthetic_picture``
and a sound recipe in ``synthetic_audio``, functions named after the class, which both modules collect with
``recipes`` in this table's order. A new class is one name below and one function in each of the two modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

# the nine Landscape classes of the paper
LANDSCAPE_CLASSES: tuple[str, ...] = (
    "thunderstorm",
    "waterfall_burbling",
    "volcano_eruption",
    "squishing_water",
    "wind_noise",
    "fire_crackling",
    "raining",
    "underwater_bubbling",
    "splashing_water",
)
# three VGG-Sound classes of the class table that are not landscapes (distractors for the audio tower)
DISTRACTOR_CLASSES: tuple[str, ...] = ("dog_barking", "church_bell_ringing", "engine_idling")
# the curation demo's classes, outside the class table until `sound2video curate publish` adds them
CURATION_DEMO_CLASSES: tuple[str, ...] = ("frog_croaking", "ocean_waves")

SYNTHETIC_CLASSES: tuple[str, ...] = LANDSCAPE_CLASSES + DISTRACTOR_CLASSES + CURATION_DEMO_CLASSES


def recipes(namespace: Mapping[str, Any], kind: str) -> dict[str, Callable[..., Any]]:
    """``{class: recipe}`` for every synthetic class, in the table's order, taken from ``namespace`` (a recipe
    module's globals) by the class's name; ImportError naming each class that has no ``kind`` recipe there."""
    missing = [name for name in SYNTHETIC_CLASSES if not callable(namespace.get(name))]
    if missing:
        raise ImportError(
            f"no synthetic {kind} recipe for class(es) {missing}: expected a function of each class's name in "
            f"{namespace.get('__name__', 'the recipe module')}"
        )
    return {name: namespace[name] for name in SYNTHETIC_CLASSES}
