"""A poison message is isolated, not the batch.

When a batch fails for a reason that is not a fault that passes (the store refused its
data, or the fold raised on something no check foresaw), the batch is split in halves,
each half processed on its own, and so on down to the single message at fault, which
is dead-lettered with a reason that names the error's kind, never the data. Every
other message is stored. One poison message among n costs about 2·log2(n) extra
transactions; the halves are processed in order, so each partition's order is kept.

A :class:`~schemas.faults.TransientError` is never bisected: it goes up to the worker,
which keeps the offsets and tries the same batch again later.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from processors.intake import Refusal
from processors.pipeline import BatchResult, Pipeline
from processors.ports import RawMessage
from schemas.faults import DataRefusedError, TransientError

log = logging.getLogger(__name__)


def fault_reason(exc: BaseException) -> tuple[str, Refusal]:
    """(reason, rule) for the message a non-transient error was isolated to. The text of
    the database's refusal is ours (class and SQLSTATE); any other error is named by its
    class only, since its text may quote the data."""
    if isinstance(exc, DataRefusedError):
        return str(exc), Refusal.STORE
    return f"the ledger could not take this event ({type(exc).__name__})", Refusal.FOLD


def process_isolating(pipeline: Pipeline, batch: Sequence[RawMessage]) -> BatchResult:
    """Process ``batch``; if it fails for a reason that is not transient, bisect it until
    the message at fault is found and dead-letter only that one."""
    try:
        return pipeline.process(batch)
    except TransientError:
        raise
    except Exception as exc:
        if len(batch) == 1:
            msg = batch[0]
            reason, rule = fault_reason(exc)
            log.error(
                "isolated a poison message %s[%d]@%d: %s",
                msg.topic,
                msg.partition,
                msg.offset,
                reason,
            )
            return pipeline.process(batch, refuse={(msg.topic, msg.partition, msg.offset): (
                reason, rule)})  # fmt: skip
        log.warning(
            "a batch of %d failed (%s): bisecting to isolate the message at fault",
            len(batch),
            type(exc).__name__,
        )
        middle = len(batch) // 2
        first = process_isolating(pipeline, batch[:middle])
        return first.merge(process_isolating(pipeline, batch[middle:]))
