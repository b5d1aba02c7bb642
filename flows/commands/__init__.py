"""CLI command groups beyond `build`/`demo`/`validate`; each module has `register(app)`."""

COMMAND_MODULES = ("flows.commands.data", "flows.commands.train", "flows.commands.report",
                   "flows.commands.serve")
