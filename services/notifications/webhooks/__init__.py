"""Signed webhooks (Standard Webhooks): endpoints integrators register, and the CloudEvents
POSTed to them through the same delivery rows and states as email."""
