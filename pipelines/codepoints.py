"""Code points of a text as numpy arrays, and lazily filled code point → class lookup tables.

Shared by normalization, quality signals, script detection and near-dup shingling: classifying a
whole text becomes one array lookup instead of a Python step per character.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np


def codepoints(text: str) -> np.ndarray:
    """The code points of a text as a uint32 array (one C call; len == len(text))."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def from_codepoints(cp: np.ndarray) -> str:
    return cp.astype("<u4", copy=False).tobytes().decode("utf-32-le", "surrogatepass")


class CodepointTable:
    """Code point → small int class, as a numpy lookup table filled lazily from `fn` (a corpus uses a
    few thousand distinct code points; classifying all 1.1M up front would cost ~1 s per worker).

    Classifying a whole text is then one array lookup instead of a Python or translate() step per
    character (str.translate with a dict table costs ~50 ns a character; this ~2 ns)."""

    def __init__(self, fn: Callable[[int], int], size: int = 0x110000, dtype=np.uint8):
        self.UNKNOWN = np.iinfo(dtype).max  # the largest value, so one max() finds an unknown entry
        self.values = np.full(size, self.UNKNOWN, dtype=dtype)
        self.fn = fn
        self.lock = threading.Lock()  # Beam may run several bundles of one worker in threads

    def __call__(self, cp: np.ndarray) -> np.ndarray:
        v = self.values.take(cp)
        if v.max(initial=0) == self.UNKNOWN:
            with self.lock:
                for c in np.unique(cp[v == self.UNKNOWN]).tolist():
                    self.values[c] = self.fn(c)
            v = self.values.take(cp)
        return v
