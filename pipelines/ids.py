"""Stable record ids: derived from content/source only, never from run order or randomness."""

import hashlib


def stable_id(*parts: object, size: int = 16) -> str:
    """Hex id of the given parts (blake2b, `size` bytes). Parts are joined unambiguously."""
    h = hashlib.blake2b(digest_size=size)
    for p in parts:
        b = p if isinstance(p, bytes) else str(p).encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def stable_hash64(text: str | bytes) -> int:
    """Unsigned 64-bit hash of a string, identical across processes and machines (unlike hash())."""
    b = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(b, digest_size=8).digest(), "little")
