"""The CLI's commands, one module each (`podherd.cli` wires them): the standalone front door, plus `cluster` and `bench`."""
