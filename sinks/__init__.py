"""Where the hub's results go: PostgreSQL (the ledger, events, metrics), Prometheus, Kafka."""
