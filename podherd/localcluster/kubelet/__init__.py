"""The local kubelet: binds pods to node `local` and runs them as processes or simulates them."""
