"""Which CPU computed a number, as far as its last digits go.

Matrix products and the other kernels torch calls (MKL, oneDNN, ATen's vectorised loops)
pick their code path by the CPU's vendor, family, model and instruction-set extensions,
and two code paths add in different orders. The same run on another CPU family therefore
differs in its last digits, and after a thousand training steps in its visible ones
(FlowBind's demo FID was 2.003 on one two-core Xeon and 2.063 on another, with AMX,
at the same commit, lock file and thread count). A record stores the identity
of its CPU (``provenance.hardware.cpu``) and so does a drift baseline, so ``check`` can
tell whether exact agreement is to be expected (benchmark/check.py).
"""

from __future__ import annotations

import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")

SIMD_PREFIXES = ("sse", "ssse", "avx", "fma", "f16c", "amx", "asimd", "sve", "neon")
"""Flags that name vector instruction sets kernels dispatch on (x86 ``flags``, Arm
``Features``); the rest of the flag list (virtualisation, security mitigations) does not
change results and differs between hosts of one CPU model."""

_FIELDS = {"vendor_id": "vendor", "model name": "model_name", "cpu family": "family",
           "model": "model", "CPU implementer": "vendor", "CPU part": "model"}


def cpu_identity(cpuinfo: str | None = None) -> dict[str, object]:
    """The CPU's vendor, model name, family and model numbers (as ``/proc/cpuinfo`` gives
    them, where it exists), its SIMD extensions (sorted) and the capability torch's own
    kernels were dispatched for (``"AVX512"``, ``"AVX2"``, ``"DEFAULT"``...).

    ``cpuinfo``: the text of ``/proc/cpuinfo`` to read instead of the file (tests). Without
    that file (macOS, Windows) the model name is ``platform.processor()``.
    """
    import torch

    text = cpuinfo if cpuinfo is not None else (
        CPUINFO.read_text(errors="replace") if CPUINFO.is_file() else "")
    identity: dict[str, object] = {"machine": platform.machine()}
    first_processor = text.split("\n\n")[0]
    for line in first_processor.splitlines():
        name, _, value = (part.strip() for part in line.partition(":"))
        if name in _FIELDS:
            identity[_FIELDS[name]] = value
        elif name in ("flags", "Features"):
            identity["simd"] = sorted(flag for flag in value.split()
                                      if flag.startswith(SIMD_PREFIXES))
    identity.setdefault("model_name", platform.processor())
    identity["torch_capability"] = torch.backends.cpu.get_cpu_capability()
    return identity


def describe(identity: dict[str, object] | None) -> str:
    """A short human name of a :func:`cpu_identity` (``"unknown CPU"`` for None)."""
    if identity is None:
        return "unknown CPU"
    numbers = " ".join(f"{key} {identity[key]}" for key in ("family", "model") if key in identity)
    details = ", ".join(part for part in (
        str(identity.get("vendor", "")), numbers,
        f"torch kernels {identity.get('torch_capability')}") if part)
    return f"{identity.get('model_name') or identity.get('machine')} ({details})"
