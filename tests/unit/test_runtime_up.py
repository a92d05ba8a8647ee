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
