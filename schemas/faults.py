"""Faults that pass: the one error class every layer raises for "not now", never "not this".

A message is dead-lettered only for what is wrong with *it*. When a service the hub
needs (PostgreSQL, the schema registry, Kafka) cannot be reached, a connection drops
or a transaction is rolled back by the database, the message is fine: the worker
keeps its offsets, waits (capped exponential backoff), and tries the same batch
again. Each adapter turns its library's transport errors into a subclass of
:class:`TransientError`, so the processors can tell the two apart without importing
psycopg, httpx or kafka.
"""

from __future__ import annotations


class TransientError(RuntimeError):
    """A service is unreachable or a transaction was rolled back: try again later.

    ``cause`` names the service (``postgres``, ``registry``, ``kafka``): a bounded label
    for the worker's metrics and readiness report.
    """

    cause = "unknown"


class DataRefusedError(RuntimeError):
    """A service refused a message's data (an invalid character, a value too large): the
    message is at fault, not the service. The text is the hub's own (the error's class
    and code), never the data, so it may serve as a dead-letter reason."""
