"""Placeholder until the colour-flash analysis lands: the sequence the server chooses."""

from __future__ import annotations

import random

FLASH_COLOURS = ["#ff0000", "#00ff00", "#0000ff", "#ffff00", "#ff00ff", "#00ffff"]


def flash_sequence_new(rng: random.Random) -> tuple[list[str], list[int]]:
    count = rng.randint(3, 5)
    colours: list[str] = []
    while len(colours) < count:
        colour = rng.choice(FLASH_COLOURS)
        if not colours or colours[-1] != colour:
            colours.append(colour)
    return colours, [rng.randrange(300, 501, 10) for _ in colours]
