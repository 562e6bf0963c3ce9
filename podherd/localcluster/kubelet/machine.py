"""Facts about this machine that a kubelet reports in its Node's status: capacity, OS, kernel, ids.

Read once when the kubelet registers its node, from the places a real kubelet (cAdvisor) reads them:
the CPU count, ``/proc/meminfo``, the size of the filesystem the kubelet writes to, ``/etc/os-release``,
``uname``, ``/etc/machine-id`` and the boot id. Anything unreadable falls back to a neutral value,
since a missing file must not keep the kubelet from starting.
"""

from __future__ import annotations

import os
import platform
import shutil
from dataclasses import dataclass
from pathlib import Path

_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "ppc64le": "ppc64le",
}
EVICTION_MEMORY_KI = 100 * 1024  # the kubelet's default hard eviction threshold memory.available<100Mi
EVICTION_STORAGE_FRACTION = 0.10  # ... and nodefs.available<10%


@dataclass(frozen=True)
class Machine:
    cpus: int
    memory_ki: int
    storage_bytes: int
    os_image: str
    kernel: str
    arch: str
    machine_id: str
    boot_id: str


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _mem_total_ki() -> int:
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1])
    return 1024 * 1024


def _os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return f"{platform.system()} {platform.release()}".strip()


def _storage(path: Path) -> int:
    try:
        return shutil.disk_usage(path).total
    except OSError:
        return 0


def this_machine(storage_path: Path | None = None) -> Machine:
    """The facts of the machine the kubelet runs on; `storage_path` is where it keeps its files."""
    return Machine(
        cpus=os.cpu_count() or 1,
        memory_ki=_mem_total_ki(),
        storage_bytes=_storage(storage_path or Path("/")),
        os_image=_os_image(),
        kernel=platform.release(),
        arch=_ARCH.get(platform.machine().lower(), platform.machine().lower() or "amd64"),
        machine_id=_read("/etc/machine-id").strip(),
        boot_id=_read("/proc/sys/kernel/random/boot_id").strip(),
    )


def capacity(m: Machine) -> dict[str, str]:
    """status.capacity as a kubelet reports it (quantities as the API serialises them)."""
    return {
        "cpu": str(m.cpus),
        "ephemeral-storage": f"{m.storage_bytes // 1024}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{m.memory_ki}Ki",
        "pods": "110",
    }


def allocatable(m: Machine) -> dict[str, str]:
    """status.allocatable: capacity less the default hard eviction thresholds (no system/kube reservations)."""
    out = capacity(m)
    out["memory"] = f"{max(m.memory_ki - EVICTION_MEMORY_KI, 0)}Ki"
    out["ephemeral-storage"] = str(int(m.storage_bytes * (1 - EVICTION_STORAGE_FRACTION)))
    return out
