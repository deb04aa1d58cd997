from __future__ import annotations

from functools import cache

import numpy as np
import pytest

from app.qa import fixtures
from app.qa.frames import Action, synthesise
from app.qa.landmarks import Image, Points, find_faces

FRAMES = 12


@cache
def sequence(person: str, action: Action) -> tuple[Image, ...]:
    """Frames synthesised from a person's selfie; cached so each action is made once per run."""
    return tuple(synthesise(fixtures.portrait(f"{person}_selfie"), action, frames=FRAMES, seed=3))


@cache
def landmarks(person: str, action: Action) -> tuple[Points, ...]:
    found = []
    for frame in sequence(person, action):
        faces = find_faces(frame)
        assert len(faces) == 1, "every synthesised frame must show exactly one face"
        found.append(faces[0])
    return tuple(found)


@pytest.fixture(scope="session")
def astronaut_selfie() -> Image:
    return fixtures.portrait("astronaut_selfie")


@pytest.fixture(scope="session")
def two_people() -> Image:
    left = fixtures.portrait("astronaut_selfie")
    right = fixtures.portrait("hopper_selfie")
    return np.ascontiguousarray(np.hstack([left, right[: left.shape[0], : left.shape[1]]]))
