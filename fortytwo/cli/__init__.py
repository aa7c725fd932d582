"""The ``fortytwo`` command line."""

from __future__ import annotations

from fortytwo.cli.main import cli, main

__all__ = ["cli", "main"]
