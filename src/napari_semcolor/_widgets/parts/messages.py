"""The Colourize dock's words for a run that cannot do what the user expects, and what to do instead."""

from __future__ import annotations


def no_hints_note(backend: str, automatic: list[str]) -> str:
    """What Run does with no hints for a backend that needs them, and what to do instead."""
    instead = f" or choose {' / '.join(automatic)} for automatic colouring" if automatic else ""
    return f"no hints: {backend} will return gray. Add a hints layer (Colour hints dock){instead}."


def missing_reference(backend: str) -> str:
    """The dock's words for a reference backend run without any reference image."""
    return (
        f"{backend} needs a colour reference image: choose one in '{backend} reference' (it colours "
        "the whole image), or one per region in the region table"
    )
