"""The command line: typer commands over the public API; the only layer that prints and picks exit codes."""


def main() -> None:
    """`gdplay.cli.main`, as round one's entry point was named (`gdplay.cli.app.main` now)."""
    from gdplay.cli.app import main as run

    run()
