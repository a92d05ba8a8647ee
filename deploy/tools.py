"""Finding the programs the stack needs (Java, Maven, PostgreSQL), with clear errors."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from deploy.procs import StackError

DEPLOY_DIR = Path(__file__).resolve().parent


def find_java(java_home: Path | None, *, min_major: int = 17, what: str = "Kafka") -> Path:
    """The ``java`` executable, at least ``min_major``; a clear error otherwise."""
    candidates: list[Path] = []
    if java_home is not None:
        candidates.append(java_home / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path))
    candidates += sorted(Path("/usr/lib/jvm").glob("*/bin/java"), reverse=True)
    seen: list[str] = []
    for java in candidates:
        if not java.exists():
            continue
        major = java_major(java)
        seen.append(f"{java} ({major})")
        if major >= min_major:
            return java
    found = "; found: " + ", ".join(seen) if seen else ""
    raise StackError(
        f"{what} needs Java {min_major} or newer, and none was found{found}. "
        f"Install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME."
    )


def java_major(java: Path) -> int:
    out = subprocess.run(
        [str(java), "-version"], capture_output=True, text=True, check=False
    ).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return 0
    first = int(match.group(1))
    return int(match.group(2) or 0) if first == 1 else first


def find_maven(maven: str) -> str:
    found = shutil.which(maven)
    if not found:
        raise StackError(
            f"Maven ({maven!r}) was not found: the stack resolves Kafka and the schema "
            "registry from Maven Central with it. Install it (Debian: apt-get install maven) "
            "or set SINERGI_MAVEN to its path."
        )
    return found


def find_pg_bindir(configured: Path | None) -> Path:
    candidates = [configured] if configured else []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if bindir and (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise StackError(
        "PostgreSQL server programs (initdb, pg_ctl) were not found. Install them "
        "(Debian: apt-get install postgresql-15) or set SINERGI_PG_BINDIR to their folder."
    )


def maven_classpath(maven: str, pom: Path, out_file: Path, log_file: Path) -> str:
    """Resolve ``pom``'s dependencies from Maven Central and return the classpath.

    Cached in ``out_file``; resolved again when the pom changes or a jar is gone.
    """
    if out_file.exists() and out_file.stat().st_mtime >= pom.stat().st_mtime:
        classpath = out_file.read_text().strip()
        if classpath and all(Path(jar).exists() for jar in classpath.split(":")):
            return classpath
    out_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        done = subprocess.run(
            [
                find_maven(maven),
                "-B",
                "-q",
                "-f",
                str(pom),
                "dependency:build-classpath",
                f"-Dmdep.outputFile={out_file}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0 or not out_file.exists():
        raise StackError(
            f"Maven could not resolve {pom.relative_to(DEPLOY_DIR.parent)} from Maven Central "
            f"(exit {done.returncode}); see {log_file}."
        )
    return out_file.read_text().strip()
