"""The command line: typer commands over the public API; the only layer that prints and picks exit codes."""
