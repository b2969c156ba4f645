"""Abierto's services: registration, commitments, notifications."""
