"""The one line every benchmark prints about the machine its figures came from."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine_describe() -> str:
    """Processor model and count, memory, system, Python, and the load average while it ran (figures from a loaded
    machine are upper bounds).
    """
    model = platform.processor() or platform.machine()
    try:
        model = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            model,
        )
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return (
        f"{os.cpu_count()} CPU ({model}), {memory_gib:.1f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, load average {load}"
    )
