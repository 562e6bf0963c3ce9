"""podherd: run tasks as Kubernetes pods from several scheduler replicas at once."""

__version__ = "0.1.0"
