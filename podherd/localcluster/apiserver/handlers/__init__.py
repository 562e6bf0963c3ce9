"""Resource request handlers, one module per verb group (read, watch, write, logs)."""
