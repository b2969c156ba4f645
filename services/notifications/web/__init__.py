"""Notifications over HTTP: the deliveries and subscriptions APIs, the pages links open,
the follow form."""
