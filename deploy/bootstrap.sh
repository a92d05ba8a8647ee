#!/usr/bin/env bash
# Installs what the stack needs when it is missing (Debian/Ubuntu, as root), then the
# Python environment. Safe to run again. Usage: deploy/bootstrap.sh [python] [venv]
set -euo pipefail
PYTHON=${1:-python3}
VENV=${2:-.venv}

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
  || missing+=(postgresql-15)
# The browser tests drive Debian's Chromium (no browser download); promtool tests the
# Prometheus rules in deploy/prometheus.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# The public report's tests render its PDF to pictures (pdftoppm) and read its text
# (pdftotext): Debian's poppler-utils.
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bootstrap: installing ${missing[*]} with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null \
      || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null; }
  else
    echo "bootstrap: missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
  echo "bootstrap: Python 3.11 is needed ($PYTHON is $("$PYTHON" -V 2>&1))" >&2
  exit 1
fi
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -e '.[dev]'
# The project's own modules compiled once: pip compiles what it installs, not an editable
# project, and where PYTHONDONTWRITEBYTECODE is set Python never writes them itself, so
# every `sinergi` command, processor and helper compiled them again (0.3 s a command here).
# A module edited later is compiled again in memory until the next install: never stale.
# The packages are pyproject.toml's (setuptools' include), and the bench beside them.
packages=$("$VENV/bin/python" -c 'import tomllib
found = tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["packages"]["find"]
print(" ".join(name.rstrip("*") for name in found["include"]))')
# shellcheck disable=SC2086  # one word per package
"$VENV/bin/python" -m compileall -q -j 0 $packages bench >/dev/null
echo "bootstrap: Python environment ready in $VENV"
