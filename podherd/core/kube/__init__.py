"""The Kubernetes API as podherd uses it: the client (`client`), its errors (`errors`, `classify`), rate limit, health and recovery."""
