"""Notifications: bus consumer, Celery tasks, emails, deliveries, and followers of commitments."""
