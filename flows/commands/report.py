"""CLI commands (report)."""


def register(app) -> None:
    """Add this module's commands to the typer app."""
