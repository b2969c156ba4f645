"""Notifications: bus consumer, Celery tasks, emails, deliveries."""
