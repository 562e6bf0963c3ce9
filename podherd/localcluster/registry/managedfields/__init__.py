"""Field ownership for server-side apply and every other write: structured-merge-diff and apimachinery's
managedfields, ported.

`fieldpath` (paths, sets, the fieldsV1 form), `types` (list/map/struct shapes from the .proto markers),
`typed` (field sets, merge, compare, removal over JSON), `updater` (who owns what after an update or an
apply; conflicts), `manager` (managedFields entries: identity, stripping, caps, the 409 Status) and
`fieldmanager` (the whole chain, called by the registry for creates, updates, patches and applies).
"""
