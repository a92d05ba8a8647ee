"""The rules a message can be dead-lettered for are one bounded set (processors/intake.py
``Refusal``), and the processor shows each of them at 0 from its start: a count that
first appears at 1 is no increase to Prometheus, so the first dead letter of a rule
after each start went unseen (SinergiDeadLettersRising)."""

from __future__ import annotations

import ast
from pathlib import Path

from prometheus_client import generate_latest

from processors.intake import REFUSAL_RULES, REFUSALS, InvalidEventError, Refusal, refusal_code
from processors.isolation import fault_reason
from schemas.contract import ContractError, Violation
from schemas.faults import DataRefusedError
from sinks.prometheus import WorkerMetrics
from tests.promql import REPO

# Where a refusal names its rule: Received.refuse(reason, rule), InvalidEventError(message,
# code), and what fault_reason returns for isolate() to refuse with.
NAMING = {"refuse": 1, "InvalidEventError": 1}


def _rule_arguments(tree: ast.AST) -> list[ast.expr]:
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else None
            name = node.func.id if isinstance(node.func, ast.Name) else name
            if name in NAMING:
                index = NAMING[name]
                if len(node.args) > index and not isinstance(node.args[index], ast.Starred):
                    found.append(node.args[index])
                found += [k.value for k in node.keywords if k.arg in ("rule", "code")]
        if isinstance(node, ast.FunctionDef) and node.name == "fault_reason":
            found += [
                ret.value.elts[1]
                for ret in ast.walk(node)
                if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Tuple)
            ]
    return found


def test_every_refusal_names_a_rule_of_the_one_set():
    """No rule is a string of its own anywhere a message is refused: each is a member of
    Refusal (or a function typed to return one: mypy --strict checks the rest)."""
    sources = sorted((REPO / "processors").glob("*.py"))
    named = []
    for path in sources:
        for arg in _rule_arguments(ast.parse(path.read_text(), str(path))):
            where = f"{Path(path).name}:{arg.lineno}"
            assert not isinstance(arg, ast.Constant), f"{where}: a rule outside Refusal"
            if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name):
                assert arg.value.id == "Refusal", where
                assert arg.attr in Refusal.__members__, where
                named.append(Refusal[arg.attr])
            else:  # refusal_code(exc), fault_reason's: typed Refusal
                assert isinstance(arg, ast.Call | ast.Name), where
    # The scan found the refusals (intake, pipeline, isolation), not nothing.
    assert {Refusal.SIGNER, Refusal.REPLAYED, Refusal.SEALED, Refusal.STORE} <= set(named)


def test_what_an_error_is_refused_for_is_in_the_set():
    errors: list[BaseException] = [
        cls("x") for cls in REFUSALS if cls not in (ContractError, InvalidEventError)
    ]
    errors += [ContractError([Violation("person.nik", "format")]), InvalidEventError("x")]
    errors.append(InvalidEventError("x", Refusal.STALE))
    assert {refusal_code(e) for e in errors} <= set(REFUSAL_RULES)
    assert refusal_code(InvalidEventError("x")) == "invalid"
    assert fault_reason(DataRefusedError("22021"))[1] in REFUSAL_RULES
    assert fault_reason(KeyError("x"))[1] in REFUSAL_RULES
    assert len(REFUSAL_RULES) == len(set(REFUSAL_RULES)) == len(Refusal)


def test_a_started_processor_shows_every_refusal_rule_at_zero():
    page = generate_latest(WorkerMetrics().registry).decode()
    for rule in REFUSAL_RULES:
        assert f'sinergi_processor_dead_letters_total{{rule="{rule}"}} 0.0' in page, rule
    # Counting one moves that rule only.
    metrics = WorkerMetrics()
    metrics.dead_letters.labels(rule=Refusal.SIGNATURE).inc()
    page = generate_latest(metrics.registry).decode()
    assert 'sinergi_processor_dead_letters_total{rule="signature"} 1.0' in page
    assert 'sinergi_processor_dead_letters_total{rule="stale"} 0.0' in page
