"""Project commands (COMMANDS_MODULE): `crawl` with its input checked before it starts."""
