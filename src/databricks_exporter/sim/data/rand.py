"""Keyed pseudo-random draws for the Python side of the generator.

Each draw is a hash of the seed and a key naming what is drawn, not the next value of a
stream, so adding an entity or a trait never shifts the values of the others.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def unit(seed: int, *key: object) -> float:
    """A uniform draw in [0, 1) fixed by the seed and the key."""
    text = repr((seed, *key)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big") / 2.0**64


def between(low: float, high: float, seed: int, *key: object) -> float:
    """A uniform draw in [low, high)."""
    return low + (high - low) * unit(seed, *key)


def pick(choices: Sequence[T], seed: int, *key: object) -> T:
    """One of `choices`, uniformly."""
    return choices[int(unit(seed, *key) * len(choices))]


def stable_uuid(*key: object) -> str:
    """A UUID-shaped id fixed by the key alone (the same for every seed)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def hex_id(length: int, *key: object) -> str:
    """A lower-case hex id of `length` characters fixed by the key alone."""
    return hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()[:length]
