"""Apicurio Registry 2.4.2 (Confluent-compatible API at /apis/ccompat/v7).

Built once from Maven Central by ``deploy/registry/pom.xml`` (a Quarkus build over
Apicurio's app jar, 33 s here) into ``.sinergi-build/registry/``, one build per content of
``deploy/registry`` that every data folder shares (the demo's, the tests', the cluster's,
the bench's), run on Java 17, with its storage in an H2 file under the data folder so
schema ids survive restarts. Reads are open; every write needs
HTTP basic auth (the hub's registry user, password in the secrets folder).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import httpx

from deploy.procs import (
    HasArgument,
    PidFile,
    StackError,
    ensure_port_free,
    external_state,
    pid_alive,
    spawn,
    stop_process,
    wait_for_external,
    wait_until,
)
from deploy.secrets import ensure_password
from deploy.tools import DEPLOY_DIR, find_java, find_maven

PROJECT = DEPLOY_DIR / "registry"
BUILDS = DEPLOY_DIR.parent / ".sinergi-build" / "registry"
REGISTRY_USER = "sinergi"
# Where a Quarkus build puts the runnable jar, inside its build directory.
JAR_IN_BUILD = Path("quarkus-app") / "quarkus-run.jar"


@dataclass(frozen=True)
class RegistryConfig:
    home: Path
    host: str
    port: int
    java_home: Path | None
    maven: str


class RegistryService:
    name = "registry"

    def __init__(self, cfg: RegistryConfig) -> None:
        self.cfg = cfg
        self.dir = cfg.home / "registry"
        self.storage = self.dir / "h2" / "registry"
        self.log = cfg.home / "logs" / "registry.log"
        self.stdout = cfg.home / "logs" / "registry.stdout.log"
        self.secrets = cfg.home / "secrets"
        # The jar is shared by every data folder: its storage tells this folder's apart.
        self.pidfile = PidFile(cfg.home / "run" / "registry.pid", HasArgument(self._storage_option))

    @cached_property
    def build_dir(self) -> Path:
        """The build of exactly these sources: a change to them makes another."""
        digest = hashlib.sha256()
        for src in sorted([PROJECT / "pom.xml", *PROJECT.glob("src/**/*")]):
            if src.is_file():
                digest.update(f"{src.relative_to(PROJECT)}\0".encode())
                digest.update(src.read_bytes() + b"\0")
        return BUILDS / digest.hexdigest()[:16]

    @property
    def jar(self) -> Path:
        return self.build_dir / JAR_IN_BUILD

    @property
    def _storage_option(self) -> str:
        return f"-Dquarkus.datasource.jdbc.url=jdbc:h2:file:{self.storage}"

    @property
    def url(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.port}/apis/ccompat/v7"

    def build(self) -> None:
        """Run the Quarkus build unless these sources were built already. It builds
        beside the shared place and moves there whole: a build cut short is never used,
        and the next start removes what it left."""
        remove_abandoned_parts()
        if self.jar.exists():
            return
        maven_log = self.cfg.home / "logs" / "maven.log"
        maven_log.parent.mkdir(parents=True, exist_ok=True)
        BUILDS.mkdir(parents=True, exist_ok=True)
        part = BUILDS / f"{self.build_dir.name}.part-{os.getpid()}"
        shutil.rmtree(part, ignore_errors=True)
        with maven_log.open("ab") as log:
            done = subprocess.run(
                [
                    find_maven(self.cfg.maven),
                    "-B",
                    "-q",
                    "-f",
                    str(PROJECT / "pom.xml"),
                    "package",
                    f"-Dsinergi.build.dir={part}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ, JAVA_HOME=str(self._java().parent.parent)),
                check=False,
            )
        if done.returncode == 0 and (part / JAR_IN_BUILD).exists():
            try:
                part.rename(self.build_dir)
            except OSError:  # another start built the same sources meanwhile: theirs holds
                shutil.rmtree(part, ignore_errors=True)
        else:
            shutil.rmtree(part, ignore_errors=True)
        if done.returncode != 0 or not self.jar.exists():
            raise StackError(
                f"building the schema registry with Maven failed (exit {done.returncode}); "
                f"see {maven_log}"
            )

    def _java(self) -> Path:
        return find_java(self.cfg.java_home, min_major=17, what="The schema registry")

    def _users_file(self) -> Path:
        """Run-time users, in a file only we can read (never on a command line)."""
        password = ensure_password(self.secrets, "registry")
        path = self.dir / "users.properties"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(
                "quarkus.security.users.embedded.plain-text=true\n"
                f"quarkus.security.users.embedded.users.{REGISTRY_USER}={password}\n"
            )
        return path

    def running(self) -> int | None:
        return self.pidfile.running_pid()

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/subjects", timeout=2).status_code == 200

    def start(self) -> str:
        pid = self.running()
        if pid is not None:
            wait_until(self.ready, timeout=60, what="the schema registry", log_file=self.log)
            return f"already running (pid {pid})"
        ensure_port_free(self.cfg.host, self.cfg.port, "schema registry", "SINERGI_REGISTRY_PORT")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.build()
        tmp = self.dir / "tmp"
        tmp.mkdir(exist_ok=True)
        proc = spawn(
            [
                str(self._java()),
                "-Xms64m",
                "-Xmx256m",
                "-XX:+UseSerialGC",
                f"-Djava.io.tmpdir={tmp}",
                f"-Dquarkus.http.host={self.cfg.host}",
                f"-Dquarkus.http.port={self.cfg.port}",
                f"-Dquarkus.config.locations={self._users_file()}",
                "-Dquarkus.log.console.enable=false",
                "-Dquarkus.log.file.enable=true",
                f"-Dquarkus.log.file.path={self.log}",
                # Persistent storage: schema ids must outlive a restart (messages carry them).
                self._storage_option,
                # Not canonical-hash mode: it stores record fields re-ordered by name, which
                # changes the Avro binary layout. The hub registers one exact text per schema.
                "-Dregistry.ccompat.use-canonical-hash=false",
                "-Dregistry.ccompat.legacy-id-mode.enabled=false",
                "-Dregistry.enable.sentry=false",
                # No spare listening socket from the transaction manager.
                "-DCoreEnvironmentBean.processImplementationClassName="
                "com.arjuna.ats.internal.arjuna.utils.UuidProcessId",
                "-jar",
                str(self.jar),
            ],
            self.stdout,
            cwd=self.dir,
        )
        self.pidfile.write(proc.pid)
        took = wait_until(
            self.ready,
            timeout=90,
            what="the schema registry",
            alive=lambda: proc.poll() is None,
            log_file=self.log if self.log.exists() else self.stdout,
        )
        return f"started (pid {proc.pid}) in {took:.1f}s on {self.url}"

    def attach(self, timeout: float = 90) -> str:
        """A registry started elsewhere (deploy/compose.yaml): wait until it answers."""
        took = wait_for_external(
            self.ready, timeout=timeout, what=f"the schema registry at {self.url}"
        )
        return f"external, ready at {self.url} after {took:.1f}s"

    def external_status(self) -> str:
        return external_state(self.ready, self.url)

    def stop(self) -> str:
        return stop_process(self.pidfile, timeout=30)

    def status(self) -> str:
        pid, another = self.pidfile.check()
        if pid is None:
            return self.pidfile.stopped(another)
        return f"ready (pid {pid}) at {self.url}"


def remove_abandoned_parts() -> None:
    """Remove builds in progress whose process is gone (a build killed midway): they are
    never run, and each holds the registry's jars (about 130 MB)."""
    for part in BUILDS.glob("*.part-*"):
        pid = part.name.rpartition(".part-")[2]
        if not pid.isdigit() or not pid_alive(int(pid)):
            shutil.rmtree(part, ignore_errors=True)
