"""The Kubernetes version this cluster speaks, in one place: the API server's /version and the kubelet's Node.

Both report it (``gitVersion`` and ``nodeInfo.kubeletVersion``), as a real cluster's components do,
so that clients comparing them (``kubectl version`` skew warnings, ``kubectl get nodes``) agree.
"""

from __future__ import annotations

from podherd import __version__

MAJOR, MINOR = "1", "32"
GIT_VERSION = f"v{MAJOR}.{MINOR}.0-podherd.{__version__}"
