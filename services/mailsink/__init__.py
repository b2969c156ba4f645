"""A local SMTP server for running without Docker: keeps every message as a .eml file."""
