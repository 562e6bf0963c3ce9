"""Running attempts as pods: create them, follow them with a watch, record results, then remove the pods.

`executor.KubernetesExecutor` is the loop-thread object; around it: `watcher` (one informer-style
watch per namespace), `creates` (create calls off the loop), `results` (result before removal),
`cleanup` and `retention` (removing pods), `leftovers` and `handback` (nothing stranded), and the pure
policy in `attempts`.
"""
