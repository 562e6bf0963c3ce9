"""How containers run: local processes (process mode) or timers (simulate mode)."""
