"""What a container instance needs before it can start: a valid image, its environment, argv and working dir.

The kubelet's generateContainerConfig, for process mode: the image name is only checked (images are
not pulled: ``InvalidImageName`` for a bad reference, which never heals), the environment is the base
one (`exec.base_env`), the volume mounts' variables (`kubelet.volumes`) and the pod's own
(`envresolve`), and argv is ``command + args`` with ``$(VAR)`` expanded. A configuration that cannot be
resolved yet (a missing ConfigMap, Secret or key) is ``CreateContainerConfigError``, retried when the
namespace's ConfigMaps or Secrets change, as a kubelet's pod worker retries it on its next sync.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from podherd.localcluster.apimachinery.kinds import NODES
from podherd.localcluster.kubelet.envresolve import ConfigError, expand, resolve_env
from podherd.localcluster.kubelet.node import Node
from podherd.localcluster.kubelet.runtime.exec import base_env
from podherd.localcluster.kubelet.status import build as ks
from podherd.localcluster.validation.imageref import is_valid_image_reference

CONFIG_ERROR = "CreateContainerConfigError"


@dataclass
class Launch:
    """One container instance, ready to spawn: what `exec` also reuses (the same env and working dir)."""

    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    warnings: list[str] = field(default_factory=list)


class NotReady(Exception):
    """The container stays waiting with `reason`/`message`; `events` are (reason, message) Warnings to record,
    and `retry` says whether a later attempt can succeed (a config error) or not (an invalid image)."""

    def __init__(self, reason: str, message: str, events: list[tuple[str, str]], retry: bool) -> None:
        super().__init__(message)
        self.reason, self.message, self.events, self.retry = reason, message, events, retry


class ContainerConfig:
    """Builds a container instance's `Launch` from the stored pod and the objects it refers to."""

    def __init__(self, node: Node, mount_env: Callable[[dict[str, Any], dict[str, Any]], dict[str, str]]) -> None:
        self.node = node
        self.mount_env = mount_env  # (pod, container spec) -> the variables that locate its volume mounts

    def objects(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.node.store.get(resource, (namespace, name))

    def allocatable(self) -> Any:
        """The node's allocatable resources (what unset limits default to)."""
        node = self.node.store.get(NODES.plural, ("", self.node.name)) or {}
        return (node.get("status") or {}).get("allocatable")

    def launch(self, pod: dict[str, Any], spec_c: dict[str, Any]) -> Launch:
        """The instance to start, or NotReady saying why the container keeps waiting."""
        image = spec_c.get("image") if isinstance(spec_c.get("image"), str) else ""
        if not image or not is_valid_image_reference(image):
            msg = ks.invalid_image_message(image)
            raise NotReady(
                ks.INVALID_IMAGE_NAME, msg, [("InspectFailed", msg), ("Failed", "Error: InvalidImageName")], False
            )
        base = {**base_env(pod), **self.mount_env(pod, spec_c)}
        try:
            resolved = resolve_env(pod, spec_c, self.objects, base, self.allocatable)
        except ConfigError as e:
            raise NotReady(CONFIG_ERROR, str(e), [("Failed", f"Error: {e}")], True) from None
        env = resolved.env
        argv = [expand(a, env) for a in [*(spec_c.get("command") or []), *(spec_c.get("args") or [])]]
        return Launch(argv, env, spec_c.get("workingDir") or None, resolved.warnings)
