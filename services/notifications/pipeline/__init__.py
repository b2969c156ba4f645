"""From a domain event to a sent email: the consumer records deliveries, tasks send them,
the sweeper retries."""
