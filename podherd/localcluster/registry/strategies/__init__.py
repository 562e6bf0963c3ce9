"""Per-kind registry strategies: what differs between pods, namespaces, events and leases (see `base`)."""
