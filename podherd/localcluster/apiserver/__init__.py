"""The HTTP API server, the top layer: everything that knows about HTTP.

`server` composes a cluster and runs it; `app` is the middleware and dispatch every request passes;
`routing` resolves URLs to kinds and verbs; `negotiation` picks JSON or protobuf; `handlers/` serves
resource requests per verb group; `discovery`, `openapi/` and `tables` (with `columns` and
`kindtables`) render what kubectl asks for; `channels` is the wire format of exec and attach over
WebSocket; `audit`, `tls`, `kubeconfig`, `admin`, `faults` and `gctuning` are the server's
operational parts. Below it, handlers only call the
registry (and the store for watches), never the other way round.
"""
