"""Code every Abierto service uses: config, envelope, bus, outbox, db, auth, errors."""
