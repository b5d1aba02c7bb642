"""Model FLOPs utilisation: achieved model FLOP/s over the device's dense bf16 peak.

FLOPs per trained token of an encoder (forward + backward = 3 × forward, 2 FLOPs per MAC):
    6 · N_non-embedding  +  12 · L · d · T  +  p_pred · 6 · d · V
T = attended length per token: the packed row length under the dense mask (it computes every pair
in the row), Σ example length² / Σ length with the unpadded layouts (nested, varlen),
p_pred = predicted fraction (the sparse head projects only those positions onto the vocabulary).
"""

from __future__ import annotations

from xlmodel.model import ModelConfig

# Dense bf16 tensor-core peaks (TFLOP/s), most specific name first (matched as substrings).
PEAK_BF16_TFLOPS: list[tuple[str, float]] = [
    ("H200", 989.0),
    ("GH200", 989.0),
    ("H100 NVL", 835.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),
    ("H800", 989.0),
    ("A100", 312.0),
    ("A800", 312.0),
    ("L40S", 362.0),
    ("L4", 121.0),
]


def device_peak_flops(device_name: str, override_tflops: float = 0.0) -> float | None:
    """Peak FLOP/s of a device by name, or None when unknown (MFU is then not reported)."""
    if override_tflops > 0:
        return override_tflops * 1e12
    for key, tflops in PEAK_BF16_TFLOPS:
        if key.lower() in device_name.lower():
            return tflops * 1e12
    return None


def flops_per_token(c: ModelConfig, seq_len: int, pred_frac: float) -> float:
    return 6.0 * c.non_embedding_params() + 12.0 * c.n_layers * c.d_model * seq_len + \
        pred_frac * 6.0 * c.d_model * c.vocab_size


def mfu(c: ModelConfig, seq_len: int, pred_frac: float, tokens_per_s: float, peak_flops: float | None,
        n_devices: int = 1) -> float | None:
    if not peak_flops:
        return None
    return flops_per_token(c, seq_len, pred_frac) * tokens_per_s / (peak_flops * n_devices)
