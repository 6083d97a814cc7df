"""Commons: process wiring (settings, database, CLI) shared by every component."""
