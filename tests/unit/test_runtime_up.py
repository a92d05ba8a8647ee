"""`sinergi stack up` brings the services up; with --hub, the processor and the web app too."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sinergi import runtime
from sinergi.config import Settings


@dataclass
class Recorder:
    started: list[str] = field(default_factory=list)

    def part(self, name):
        recorder = self

        class Part:
            def __init__(self, settings):
                pass

            def up(self, report):
                recorder.started.append(name)

            def start(self, overrides=None):
                recorder.started.append(name)
                return "started"

        return Part


@pytest.mark.parametrize(("hub", "expected"), [
    (False, ["services", "hub"]),
    (True, ["services", "hub", "processor", "web"]),
])  # fmt: skip
def test_stack_up_starts_the_processor_and_the_web_app_only_with_hub(monkeypatch, hub, expected):
    r = Recorder()
    monkeypatch.setattr(runtime, "stack", r.part("services"))
    monkeypatch.setattr(runtime, "prepare_hub", lambda s, report: r.started.append("hub"))
    monkeypatch.setattr(runtime, "processor", r.part("processor"))
    monkeypatch.setattr(runtime, "web", r.part("web"))
    lines: list[str] = []
    runtime.up(Settings(), report=lines.append, hub=hub)
    assert r.started == expected
    assert ("web: started" in lines) is hub


def test_the_hubs_readers_try_a_broker_back_from_an_outage_within_five_seconds(
    monkeypatch, tmp_path
):
    """kafka-python waits up to 30 s between attempts to reach a broker: the audit, the
    backlog count, the rebuild and the admin would stay that long after one came back."""
    from sinergi import auditing, bootstrap
    from sinergi.config import from_env

    made: list[tuple[str, dict]] = []

    class Client:
        def __init__(self, *topics, **options):
            made.append((type(self).__name__, options))

        def list_group_offsets(self, groups):
            return {}

        def partitions_for_topic(self, topic):
            return {0}

        def end_offsets(self, partitions):
            return dict.fromkeys(partitions, 0)

        def close(self):
            pass

    class Consumer(Client):
        pass

    class Admin(Client):
        pass

    monkeypatch.setattr(bootstrap, "kafka_password", lambda settings, principal: "secret")
    monkeypatch.setattr(bootstrap, "KafkaAdminClient", Admin)
    monkeypatch.setattr(runtime, "KafkaConsumer", Consumer)
    monkeypatch.setattr(auditing, "KafkaConsumer", Consumer)
    settings = from_env({"SINERGI_HOME": str(tmp_path)})
    assert runtime.backlog(settings) == 0
    auditing._consumer(settings)
    assert [kind for kind, _ in made] == ["Admin", "Consumer", "Consumer"]
    for _, options in made:
        assert options["reconnect_backoff_max_ms"] <= 5_000
        assert options["bootstrap_servers"] == settings.bootstrap_servers
        assert options["sasl_plain_username"] == bootstrap.ADMIN
