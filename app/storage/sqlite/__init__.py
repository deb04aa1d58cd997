"""SQLite implementations of the domain's repositories (the embedded default)."""
