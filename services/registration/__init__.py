"""Registration: the events catalogue, registrations, capacity and waiting list, cancellation."""
