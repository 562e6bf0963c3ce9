"""Kubernetes semantics over storage, without HTTP: what a get, list, create, update, patch or delete means.

`store` (create/update/patch, from kube's `registry.Store`), `deletion` and `listing` implement the
rules once for every kind; `strategies/` holds what differs per kind (pods, namespaces, events,
leases, configmaps, secrets, serviceaccounts, nodes; `configdata` is the ConfigMap/Secret body
decode); `namespaces` is namespace admission and termination; `fields` applies a kind's field
selectors; `apply` is server-side apply and `managedfields/` the field ownership every write records.
"""
