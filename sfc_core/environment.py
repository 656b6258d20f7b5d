"""What a measurement ran on, recorded beside every committed figure.

Speed and memory depend on the CPU (AVX2 or AVX-512 kernels), the thread count, the C heap's
settings and the library versions; a figure is reproducible only with them. Every benchmark and
report JSON carries `environment()` next to the `command` that regenerates it.
"""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import torch

from . import allocator
from .device import describe

_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")  # the kernels oneDNN picks


def _cpu() -> tuple[str, list[str]]:
    """The CPU's model name and which of the vector extensions that decide kernel speed it has."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine(), []
    fields = {key.strip(): value.strip() for key, value in (line.split(":", 1) for line in text.splitlines()
                                                             if ":" in line)}
    model = fields.get("model name") or platform.machine()
    flags = set(fields.get("flags", "").split())
    return model, [flag for flag in _FLAGS if flag in flags]


def environment(device: torch.device | None = None) -> dict:
    """Python, torch, CPU model and flags, cores and threads, the load when measuring began (other
    work on the machine slows what is timed), heap settings, device, date."""
    model, flags = _cpu()
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu": model,
        "cpu_flags": flags,
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "allocator": allocator.settings(),
        "device": describe(device or torch.device("cpu")),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
