"""Declarative setup: ``fortytwo apply FILE.toml`` (see docs/apply-format.md)."""
