"""Agencies publishing events: validation, pseudonymisation, and the Kafka publisher."""
