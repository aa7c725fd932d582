"""``fortytwo openapi``: print the OpenAPI document this version serves."""

from __future__ import annotations

import sys

import click

from fortytwo import openapi


@click.command("openapi")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of YAML.")
def openapi_cmd(as_json: bool) -> None:
    """Print this server's OpenAPI 3.1 document (YAML, or JSON with --json)."""
    data = openapi.json_bytes() if as_json else openapi.yaml_bytes()
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
