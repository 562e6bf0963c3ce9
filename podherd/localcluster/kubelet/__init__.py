"""The local kubelet: binds pods to node `local` and runs them as processes (`runtime.process`) or simulates them.

`core` decides (admission, binding, failure, deletion, deadlines); `runtime/` runs containers;
`status/` turns the kubelet's records into the pod status it writes; `events` records Events; `node`
and `driver` are the small interfaces the parts share instead of the kubelet object. Container
output lives in `logs`: the kubelet owns it, and the API server's log handler reads it, as
kube-apiserver asks the kubelet for logs.
"""
