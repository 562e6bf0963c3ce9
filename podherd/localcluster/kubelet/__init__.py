"""The local kubelet: binds pods to node `local` and runs them as processes (`runtime.process`) or simulates them.

`core` decides (admission, binding, failure, deletion, deadlines); `runtime/` runs containers;
`status/` turns the kubelet's records into the pod status it writes; `events` records Events; `node`
and `driver` are the small interfaces the parts share instead of the kubelet object. Container
output lives in `logs` (`logformat` writes it out, `logselect` picks the instance): the kubelet owns
it, and the API server's log handler reads it, as kube-apiserver asks the kubelet for logs.

Around the containers: `machine` and `registration` make the Node object; `scheduling` (pure) and
`binder` do the default scheduler's placement of a pod on it; `envresolve` and `downward` build a
container's environment; `volumesources` (pure) and `volumes` make its volumes; `streams` is the
contract with the API server's exec/attach sessions (`runtime.streaming` implements it).
"""
