"""What a body must look like: defaulting, names, field types and per-kind validation."""
