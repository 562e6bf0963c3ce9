"""Kubernetes write and read semantics over storage, with per-kind strategies (registry.Store)."""
