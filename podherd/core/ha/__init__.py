"""High availability: who is alive (`liveness`, `lease`), what to claim (`planner`, pure), and taking over (`sweeper`)."""
