"""The pod status the kubelet writes: phase and conditions, the status shapes, and the writer."""
