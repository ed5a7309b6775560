"""A real two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``), one per test session.

Each node gets 2 CPUs (with 1 each, a read task and the embedding actor pool wait on each other forever). Every
Ray server binds 127.0.0.1; the dashboard and usage reports are off. The fixture connects this process as the
driver and shuts the cluster down at the end of the test module that asked for it, restoring the environment Ray
changed: a cluster kept for the whole session outlived its tests and went on retrying the job of a killed driver
("infinite retries remaining") while the browser tests ran, next to them on the same 2 cores.
``descendant_pids`` finds the worker processes the cluster started (a test kills only those).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

NODE_CPUS = 2


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """The running cluster (``.address`` for other drivers); this process is connected to it."""
    environ = dict(os.environ)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # node address 127.0.0.1, servers bind it
    import ray
    from ray.cluster_utils import Cluster

    cluster = _start_head(Cluster)
    try:
        cluster.add_node(num_cpus=NODE_CPUS)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, logging_level=logging.WARNING, log_to_driver=False)
        assert sum(1 for n in ray.nodes() if n["Alive"]) == 2
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        os.environ.clear()
        os.environ.update(environ)


def _start_head(cluster_class: Any) -> Any:
    """The cluster with its head node. Ray waits a fixed 30 s for a new raylet to register; under CI's load it once
    took longer ("The current node timed out during startup"). The processes of that attempt are stopped and the
    head is started once more."""
    try:
        return cluster_class(initialize_head=True, head_node_args={"num_cpus": NODE_CPUS, "include_dashboard": False})
    except Exception as e:
        if "timed out during startup" not in str(e):
            raise
        for pid in descendant_pids("/ray/"):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return cluster_class(initialize_head=True, head_node_args={"num_cpus": NODE_CPUS, "include_dashboard": False})


def descendant_pids(marker: str) -> list[int]:
    """Processes under this one whose command line contains ``marker`` (e.g. a Ray actor's process title)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and _descends_from(int(entry.name), me):
            found.append(int(entry.name))
    return found


def _descends_from(pid: int, ancestor: int) -> bool:
    for _ in range(64):
        if pid == ancestor:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rpartition(")")[2].split()[1])  # the field after the state: ppid
        if pid <= 1:
            return False
    return False
