"""PATCH bodies applied as kube-apiserver applies them: JSON, merge, strategic merge, apply."""
