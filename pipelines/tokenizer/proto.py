"""Just enough protobuf wire format to edit a SentencePiece model (ModelProto) in place.

sentencepiece's own generated module needs a newer protobuf runtime than Beam allows, and the
edits we need are tiny: blank the machine paths SentencePiece records in the trainer spec (so the
same sample gives the same spm.model bytes anywhere), flip `add_dummy_prefix`, read the
normalizer's precompiled charsmap. Field numbers are those of sentencepiece_model.proto.
"""

from __future__ import annotations

MODEL_TRAINER_SPEC, MODEL_NORMALIZER_SPEC = 2, 3
TRAINER_INPUT, TRAINER_MODEL_PREFIX = 1, 2
NORMALIZER_CHARSMAP, NORMALIZER_ADD_DUMMY_PREFIX = 2, 3

Field = tuple[int, int, bytes]  # (number, wire type, payload: varint/fixed bytes or length-delimited body)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, i
        shift += 7


def _enc_varint(v: int) -> bytes:
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def parse(buf: bytes) -> list[Field]:
    fields: list[Field] = []
    i = 0
    while i < len(buf):
        tag, i = _varint(buf, i)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            start = i
            _, i = _varint(buf, i)
            fields.append((num, wt, buf[start:i]))
        elif wt == 1:
            fields.append((num, wt, buf[i:i + 8]))
            i += 8
        elif wt == 2:
            n, i = _varint(buf, i)
            fields.append((num, wt, buf[i:i + n]))
            i += n
        elif wt == 5:
            fields.append((num, wt, buf[i:i + 4]))
            i += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")
    return fields


def serialize(fields: list[Field]) -> bytes:
    out = bytearray()
    for num, wt, payload in fields:
        out += _enc_varint((num << 3) | wt)
        if wt == 2:
            out += _enc_varint(len(payload))
        out += payload
    return bytes(out)


def _edit(fields: list[Field], num: int, fn) -> list[Field]:
    return [(n, wt, fn(p)) if n == num else (n, wt, p) for n, wt, p in fields]


def _set_scalar(fields: list[Field], num: int, wt: int, payload: bytes) -> list[Field]:
    """Set a singular field, inserting it in field-number order when absent (SentencePiece's order)."""
    if any(n == num for n, _, _ in fields):
        return [(n, w, payload if n == num else p) for n, w, p in fields]
    out, placed = [], False
    for f in fields:
        if not placed and f[0] > num:
            out.append((num, wt, payload))
            placed = True
        out.append(f)
    return out if placed else out + [(num, wt, payload)]


def scrub_paths(model: bytes, input_name: str = "sample.txt", prefix: str = "spm") -> bytes:
    """Replace the sample path(s) and model prefix in the trainer spec by fixed relative names."""

    def trainer(body: bytes) -> bytes:
        fs = [f for f in parse(body) if f[0] != TRAINER_INPUT]
        fs = _set_scalar(fs, TRAINER_MODEL_PREFIX, 2, prefix.encode())
        fs = _set_scalar(fs, TRAINER_INPUT, 2, input_name.encode())
        return serialize(fs)

    return serialize(_edit(parse(model), MODEL_TRAINER_SPEC, trainer))


def with_dummy_prefix(model: bytes, enabled: bool) -> bytes:
    """The same model with the normalizer's add_dummy_prefix set (False: no '▁' before the text)."""

    def normalizer(body: bytes) -> bytes:
        return serialize(_set_scalar(parse(body), NORMALIZER_ADD_DUMMY_PREFIX, 0, b"\x01" if enabled else b"\x00"))

    return serialize(_edit(parse(model), MODEL_NORMALIZER_SPEC, normalizer))


def normalizer_field(model: bytes, num: int) -> bytes | None:
    for n, _, body in parse(model):
        if n == MODEL_NORMALIZER_SPEC:
            for m, _, p in parse(body):
                if m == num:
                    return p
    return None


def precompiled_charsmap(model: bytes) -> bytes:
    return normalizer_field(model, NORMALIZER_CHARSMAP) or b""
