"""Publishing the bench's events as the agencies' desks do, in several processes.

The simulator runs in one process (one random sequence) and gives every agency's rows in
time order; consecutive chunks of them go to a pool of processes, each acting as every
desk: validate, pseudonymise and seal (``forms.record_rows``), encode and sign once per
batch with the unit's own key (``Publisher.encode_all``: a Merkle root per 1,024
messages, each message with its proof), and send with the unit's own credential,
``acks=all``, waiting for every acknowledgement (what ``Publisher.publish`` does; the
encoded values are kept, for the decode baseline). Chunks are taken in order, so the
topics hold the history in time order but for a shuffle within a few chunks.

Each chunk's values are spooled to a file (``<index>.bin``: length-prefixed wire-format
values) for fastavro's decode rate of the same events. Background chunks are only
encoded (``bg-<index>.pkl``) and sent later, paced, by ``bench.alerts``.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import struct
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.plan import SimRow
from producers import forms
from producers.forms import Desk
from producers.publisher import Encoded, Publisher
from schemas.model import Event
from sinergi import bootstrap
from sinergi.config import Settings, from_env
from sinergi.runtime import AGENCY_OF_FORM

LENGTH = struct.Struct(">I")
# A background message as bench.alerts sends it: (unit, topic, key, value, headers).
BackgroundMessage = tuple[str, str, bytes, bytes, list[tuple[str, bytes]]]


@dataclass
class Published:
    events: int
    seconds: float
    message_bytes: int  # key + value + header names and values
    value_bytes: int
    units: int
    processes: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def mean_message_bytes(self) -> int:
        return round(self.message_bytes / self.events) if self.events else 0


class DeskPool:
    """A pool of desk processes (spawned: no Kafka client crosses a fork)."""

    def __init__(self, env: Mapping[str, str], processes: int) -> None:
        self.processes = processes
        context = multiprocessing.get_context("spawn")
        self._pool = context.Pool(processes, initializer=_init, initargs=(dict(env),))

    def publish(self, chunked: Iterable[tuple[int, list[SimRow]]], spool: Path) -> Published:
        """Publish every chunk (desk, encode, sign, send); spool the values."""
        spool.mkdir(parents=True, exist_ok=True)
        tasks = ((index, rows, spool) for index, rows in chunked)
        began = time.perf_counter()
        events = message_bytes = value_bytes = 0
        units: set[str] = set()
        for count, size, values, chunk_units in self._pool.imap(_publish_chunk, tasks):
            events += count
            message_bytes += size
            value_bytes += values
            units |= chunk_units
        seconds = time.perf_counter() - began
        return Published(events, seconds, message_bytes, value_bytes, len(units), self.processes)

    def encode(self, chunked: Iterable[tuple[int, list[SimRow]]], spool: Path) -> int:
        """Desk and encode every chunk, sending nothing: the alert test's background."""
        spool.mkdir(parents=True, exist_ok=True)
        tasks = ((index, rows, spool) for index, rows in chunked)
        return sum(self._pool.imap(_encode_chunk, tasks))

    def close(self) -> None:
        # Everything sent was acknowledged: the workers' producers hold nothing.
        self._pool.terminate()
        self._pool.join()


def spooled_values(spool: Path) -> Iterator[list[bytes]]:
    """The spooled values, one list per chunk, in chunk order."""
    for path in sorted(spool.glob("*.bin")):
        data = path.read_bytes()
        values, at = [], 0
        while at < len(data):
            (size,) = LENGTH.unpack_from(data, at)
            at += LENGTH.size
            values.append(data[at : at + size])
            at += size
        yield values


def background_messages(spool: Path) -> list[BackgroundMessage]:
    out: list[BackgroundMessage] = []
    for path in sorted(spool.glob("bg-*.pkl")):
        out += pickle.loads(path.read_bytes())
    return out


# --- in the desk processes ------------------------------------------------------------

_state: dict[str, Any] = {}


def _init(env: dict[str, str]) -> None:
    logging.getLogger("kafka").setLevel(logging.ERROR)  # SASL on loopback: known
    settings = from_env(env)
    _state["settings"] = settings
    # One registry client for every unit: its schema ids are looked up once.
    _state["registry"] = bootstrap.registry_reader(settings)
    _state["desks"] = {}
    _state["publishers"] = {}


def _settings() -> Settings:
    settings: Settings = _state["settings"]
    return settings


def _desk(form: str, place: str) -> Desk:
    desks: dict[tuple[str, str], Desk] = _state["desks"]
    found = desks.get((form, place))
    if found is None:
        found = desks[(form, place)] = bootstrap.desk(_settings(), AGENCY_OF_FORM[form], place)
    return found


def _publisher(unit: str) -> Publisher:
    publishers: dict[str, Publisher] = _state["publishers"]
    found = publishers.get(unit)
    if found is None:
        found = publishers[unit] = bootstrap.publisher(_settings(), unit, _state["registry"])
    return found


def _recorded(rows: list[SimRow]) -> list[tuple[str, list[Event]]]:
    """Each desk's events of a chunk: validated, pseudonymised, sealed."""
    by_desk: dict[tuple[str, str], list[dict[str, str | None]]] = defaultdict(list)
    for form, place, row in rows:
        by_desk[(form, place)].append(dict(row))
    out = []
    for (form, place), desk_rows in by_desk.items():
        desk = _desk(form, place)
        out.append((desk.unit, forms.record_rows(desk, forms.FORMS[form], desk_rows)))
    return out


def _size(m: Encoded) -> int:
    return len(m.key) + len(m.value) + sum(len(k) + len(v) for k, v in m.headers)


def _publish_chunk(task: tuple[int, list[SimRow], Path]) -> tuple[int, int, int, set[str]]:
    index, rows, spool = task
    sent: list[tuple[Any, Encoded]] = []
    used: list[Publisher] = []
    for unit, events in _recorded(rows):
        pub = _publisher(unit)
        used.append(pub)
        for m in pub.encode_all(events):
            future = pub.producer.send(m.topic, key=m.key, value=m.value, headers=m.headers)
            sent.append((future, m))
    for pub in used:
        pub.producer.flush(timeout=300)
    for future, _m in sent:
        future.get(timeout=300)  # raises if the broker refused it
    spooled = b"".join(LENGTH.pack(len(m.value)) + m.value for _f, m in sent)
    (spool / f"{index:06d}.bin").write_bytes(spooled)
    size = sum(_size(m) for _f, m in sent)
    values = sum(len(m.value) for _f, m in sent)
    return len(sent), size, values, {pub.signer.member_id for pub in used}


def _encode_chunk(task: tuple[int, list[SimRow], Path]) -> int:
    index, rows, spool = task
    out: list[BackgroundMessage] = []
    for unit, events in _recorded(rows):
        for m in _publisher(unit).encode_all(events):
            out.append((unit, m.topic, m.key, m.value, list(m.headers)))
    (spool / f"bg-{index:06d}.pkl").write_bytes(pickle.dumps(out))
    return len(out)
