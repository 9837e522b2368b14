"""Every business operation. Screens and the CLI call these; nothing else writes to the database."""
