"""The metric names that the Prometheus rules and the Grafana dashboard in ``deploy/`` ask
for, and the names a ``/metrics`` page offers: so tests can prove every query reads a
metric that exists (a renamed metric would otherwise leave an empty panel or an alert
that never fires).

PromQL is read just far enough to find names: strings, label matchers, ranges, grouping
clauses and Grafana variables are removed; what remains that is not a function, an
aggregation or a keyword is a metric name. The rules' YAML is read for its ``expr:`` and
``record:`` lines only (the project has no YAML library; the files are ours).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
PROMETHEUS = REPO / "deploy" / "prometheus"
DASHBOARD = REPO / "deploy" / "grafana" / "sinergi.json"

KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
     "group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)  # fmt: skip
# Prometheus' own series, always there for a scraped target.
BUILTIN = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped", "ALERTS"})

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|' + r"'(?:[^'\\]|\\.)*'")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_VARIABLE = re.compile(r"\$\{?\w+\}?")
_NAME = re.compile(r"(?<![\w.:])[A-Za-z_:][A-Za-z0-9_:]*")
_LABEL_VALUES = re.compile(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)")


def metric_names(expr: str) -> set[str]:
    """The metric names one PromQL expression reads."""
    text = _VARIABLE.sub("1", _STRING.sub('""', expr))
    text = _GROUPING.sub(" ", _RANGE.sub("", _MATCHERS.sub("", text)))
    names = set()
    for found in _NAME.finditer(text):
        word = found.group()
        if text[found.end() :].lstrip().startswith("(") or word in KEYWORDS:
            continue  # a function or an aggregation, or a keyword
        names.add(word)
    return names


def panel_queries(path: Path = DASHBOARD) -> list[str]:
    """Every panel's query."""
    dashboard = json.loads(path.read_text())
    return [
        target["expr"]
        for panel in _panels(dashboard["panels"])
        for target in panel.get("targets", [])
        if target.get("expr")
    ]


def dashboard_queries(path: Path = DASHBOARD) -> list[str]:
    """Every panel's query and every variable's, as PromQL (label_values(m, l) is m)."""
    dashboard = json.loads(path.read_text())
    queries = panel_queries(path)
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            text = query["query"] if isinstance(query, dict) else query
            queries += _LABEL_VALUES.findall(text) or [text]
    return queries


def _panels(panels: Iterable[dict[str, object]]) -> Iterable[dict[str, object]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # type: ignore[arg-type]


def rule_files() -> list[Path]:
    return sorted((PROMETHEUS / "rules").glob("*.yml"))


def rule_expressions(paths: Iterable[Path] | None = None) -> tuple[list[str], set[str]]:
    """The ``expr:`` of every rule (inline or a ``>`` block) and the names recorded."""
    expressions: list[str] = []
    recorded: set[str] = set()
    for path in paths or rule_files():
        lines = path.read_text().splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            record = re.match(r"^\s*- record:\s*(\S+)", line)
            if record:
                recorded.add(record.group(1))
            found = re.match(r"^(\s*)(?:- )?expr:\s*(.*)$", line)
            index += 1
            if not found:
                continue
            indent, value = len(found.group(1)), found.group(2).strip()
            if value in (">", "|", ">-", "|-"):
                block = []
                while index < len(lines) and (
                    not lines[index].strip() or _indent(lines[index]) > indent
                ):
                    block.append(lines[index].strip())
                    index += 1
                value = " ".join(block)
            expressions.append(value.strip("'\""))
    return expressions, recorded


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def page_names(page: str) -> set[str]:
    """The series names a /metrics page offers, a family without samples included (a
    labelled counter before its first count): by its type's suffixes."""
    suffixes = {
        "counter": ("_total", "_created"),
        "histogram": ("_bucket", "_count", "_sum", "_created"),
        "summary": ("_count", "_sum", "_created"),
        "info": ("_info",),
        "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    }
    names: set[str] = set()
    for family in text_string_to_metric_families(page):
        names |= {sample.name for sample in family.samples}
        names |= {family.name + suffix for suffix in suffixes.get(family.type, ("",))}
    return names
