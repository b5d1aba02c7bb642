"""Run eflomal on one chunk of sentence pairs, reproducibly.

eflomal's binary seeds its sampler from /dev/urandom and has no seed option, and with several
OpenMP threads its samplers split the RNG state in whatever order the threads arrive. For
byte-identical reruns we (1) preload a tiny shim that answers eflomal's read of /dev/urandom with a
seed we choose (built once per machine with the C compiler; a missing compiler is a clear error,
never a silent switch to unseeded runs) and (2) run it with OMP_NUM_THREADS=2,1: the forward and
reverse directions still run in parallel (each reads the seed itself), but each direction's samplers
run in one thread and so split the RNG state in a fixed order. Beam parallelizes across chunks.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import eflomal

from pipelines.parallel.symmetrize import Link, parse_pharaoh

MAX_TOKENS = 1023  # eflomal writes sentences of >= 1024 tokens as empty (no links): we skip them first
SEED_ENV = "XLCORPUS_EFLOMAL_SEED"

_SHIM_SOURCE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
/* fopen("/dev/urandom") -> an in-memory stream holding the seed from $XLCORPUS_EFLOMAL_SEED. */
FILE *fopen(const char *path, const char *mode) {
    static FILE *(*real_fopen)(const char *, const char *) = NULL;
    if (!real_fopen) real_fopen = (FILE *(*)(const char *, const char *))dlsym(RTLD_NEXT, "fopen");
    const char *seed = getenv("XLCORPUS_EFLOMAL_SEED");
    if (seed && path && strcmp(path, "/dev/urandom") == 0) {
        uint64_t *buf = malloc(4 * sizeof(uint64_t));
        uint64_t v = strtoull(seed, NULL, 10);
        for (int k = 0; k < 4; k++) buf[k] = v;
        return fmemopen(buf, 4 * sizeof(uint64_t), "rb");
    }
    return real_fopen(path, mode);
}
"""


class EflomalSetupError(RuntimeError):
    """eflomal cannot be run reproducibly on this machine (no C compiler for the seed shim)."""


@dataclass(frozen=True)
class EflomalParams:
    model: int = 3  # 1 = IBM1, 2 = HMM, 3 = HMM + fertility
    n_samplers: int = 3
    null_prior: float = 0.2
    rel_iterations: float = 1.0
    priors_path: str | None = None  # the user's eflomal-makepriors file for every chunk (then none are built)

    def as_dict(self) -> dict:
        return asdict(self)


def seed_shim() -> str:
    """Path of the compiled seed shim; built on first use (per machine, cached in the temp dir)."""
    digest = hashlib.sha256(_SHIM_SOURCE.encode()).hexdigest()[:12]
    folder = os.path.join(tempfile.gettempdir(), f"xlcorpus-eflomal-seed-{digest}")
    lib = os.path.join(folder, "seed.so")
    if os.path.exists(lib):
        return lib
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        raise EflomalSetupError(
            "eflomal needs a C compiler (cc/gcc/clang) once per machine to build its seed shim, which makes "
            "alignments reproducible: install one (e.g. apt-get install gcc) or use parallel.align.aligner=simalign"
        )
    os.makedirs(folder, exist_ok=True)
    src = os.path.join(folder, f"seed-{os.getpid()}.c")
    tmp = os.path.join(folder, f"seed-{os.getpid()}.so")
    with open(src, "w") as f:
        f.write(_SHIM_SOURCE)
    proc = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", tmp, src, "-ldl"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise EflomalSetupError(f"building eflomal's seed shim with {cc} failed: {proc.stderr.strip()[:500]}")
    os.replace(tmp, lib)  # atomic: concurrent workers may both build it
    os.remove(src)
    return lib


def iterations(n_sentences: int, model: int, rel_iterations: float) -> tuple[int, int, int]:
    """eflomal's own default schedule (as in its Python wrapper), from the corpus size."""
    iters = max(2, int(round(rel_iterations * 5000 / math.sqrt(max(1, n_sentences)))))
    iters4 = max(1, iters // 4)
    if model == 1:
        return iters, 0, 0
    if model == 2:
        return max(2, iters4), iters, 0
    return max(2, iters4), iters4, iters


def run_eflomal(
    src_lines: list[str], tgt_lines: list[str], params: EflomalParams, seed: int, priors: Iterable[str] | None = None
) -> list[tuple[list[Link], list[Link]]]:
    """Forward and reverse links (both as (src, tgt) indices) for whitespace-tokenized lines.

    Every line must have between 1 and MAX_TOKENS tokens (the caller skips the rest with a reason).
    priors: lines of eflomal-makepriors' format (see pipelines.parallel.priors), read by eflomal's
    own priors reader and indexed against this chunk's vocabulary.
    """
    if len(src_lines) != len(tgt_lines):
        raise ValueError(f"eflomal chunk: {len(src_lines)} source lines but {len(tgt_lines)} target lines")
    for line in (*src_lines, *tgt_lines):
        if len(line.split()) > MAX_TOKENS:
            raise ValueError(f"a line of {len(line.split())} tokens reached eflomal (limit {MAX_TOKENS})")
    priors = list(priors) if priors is not None else None
    if not priors:
        priors = None  # nothing that touches this chunk: run without (eflomal cannot read an empty priors file)
    shim = seed_shim()
    aligner = eflomal.Aligner(model=params.model, n_samplers=params.n_samplers, null_prior=params.null_prior,
                              rel_iterations=params.rel_iterations)
    with tempfile.TemporaryDirectory(prefix="xlcorpus-eflomal-") as tmp:
        paths = {k: os.path.join(tmp, k) for k in ("src", "tgt", "priors", "fwd", "rev")}
        with open(paths["src"], "wb") as sf, open(paths["tgt"], "wb") as tf, open(
            paths["priors"], "w", encoding="utf-8"
        ) as pf:
            aligner.prepare_files(src_lines, sf, tgt_lines, tf, priors, pf)
        n1, n2, n3 = iterations(len(src_lines), params.model, params.rel_iterations)
        binary = os.path.join(os.path.dirname(eflomal.__file__), "bin", "eflomal")
        args = [binary, "-m", str(params.model), "-s", paths["src"], "-t", paths["tgt"], "-n", str(params.n_samplers),
                "-N", str(params.null_prior), "-1", str(n1), "-q", "-f", paths["fwd"], "-r", paths["rev"]]
        if params.model >= 2:
            args += ["-2", str(n2)]
        if params.model >= 3:
            args += ["-3", str(n3)]
        if priors is not None:
            args += ["-p", paths["priors"]]
        # xorshift needs a non-zero state
        env = dict(os.environ, LD_PRELOAD=shim, OMP_NUM_THREADS="2,1", **{SEED_ENV: str(seed % (2**64 - 1) + 1)})
        proc = subprocess.run(args, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"eflomal failed (exit {proc.returncode}): {proc.stderr.strip()[:500]}")
        with open(paths["fwd"], encoding="utf-8") as f:
            fwd = [parse_pharaoh(line) for line in f]
        with open(paths["rev"], encoding="utf-8") as f:
            rev = [parse_pharaoh(line) for line in f]
    if len(fwd) != len(src_lines) or len(rev) != len(src_lines):
        raise RuntimeError(f"eflomal wrote {len(fwd)}/{len(rev)} link lines for {len(src_lines)} pairs")
    return list(zip(fwd, rev, strict=True))
