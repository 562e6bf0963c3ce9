"""The HTTP API server: routing, authentication, discovery, rendering and the per-verb handlers."""
