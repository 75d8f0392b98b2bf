"""A one-line description of the machine and library versions, for reports."""

from __future__ import annotations

import datetime
import os
import platform


def cpu_name() -> str:
    """CPU model name from /proc/cpuinfo (Linux) or ``platform.processor()``."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_machine() -> dict[str, str]:
    """Date, CPU, core count and library versions."""
    import cv2
    import numpy
    import torch

    return {
        "date": datetime.date.today().isoformat(),
        "cpu": f"{cpu_name()} ({os.cpu_count()} cores)",
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
    }
