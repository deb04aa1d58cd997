"""QA tooling: synthesised liveness frame sequences and the fixture loader."""
