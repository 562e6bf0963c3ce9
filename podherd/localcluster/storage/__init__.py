"""The versioned object store with history and watch (etcd plus the watch cache)."""
