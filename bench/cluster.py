"""A whole deployment on this machine for the process benchmarks (faults_bench, scale_bench):
a private Postgres and a private Redis that may be stopped without harming anyone, gunicorn
instances, Celery workers by queue and one beat, each a process of its own with its log in
the run's folder.

Ports come from BENCH_PORT (default 8350) upwards: Postgres, Redis, then the web instances
(scale_bench starts ten above, so that the two may run at once).
Postgres is an `initdb`'d cluster (run as the `postgres` user when we are root), Redis a
`redis-server` without persistence, so that starting it again starts it empty.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE_PORT = int(os.environ.get("BENCH_PORT", "8350"))
SECRET_KEY = "bench-only-secret-key-for-the-process-benchmarks"  # noqa: S105


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.1)


def postgres_program(name: str) -> str:
    """A server program of Postgres: on PATH, or where Debian's postgresql package puts it."""
    found = shutil.which(name) or next(
        (
            str(path)
            for path in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
        ),
        None,
    )
    if found is None:
        raise RuntimeError(f"{name} not found: install Debian's postgresql package")
    return found


class PrivatePostgres:
    def __init__(self, folder: Path, port: int):
        self.data = folder / "pgdata"
        self.socket_dir = folder / "pgsocket"
        self.port = port
        self.owner = "postgres" if os.geteuid() == 0 else None

    def _run(self, *command: str) -> None:
        prefix = [shutil.which("runuser"), "-u", self.owner, "--"] if self.owner else []
        subprocess.run(
            [*prefix, postgres_program(command[0]), *command[1:]],
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def init(self) -> None:
        self.socket_dir.mkdir()
        self.data.mkdir()
        if self.owner:
            shutil.chown(self.data, self.owner)
            shutil.chown(self.socket_dir, self.owner)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        subprocess.run(
            [
                shutil.which("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "bench",
            ],
            check=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.data / "log"), "-w",
            "start",
        )  # fmt: skip

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/bench"


class PrivateRedis:
    def __init__(self, folder: Path, port: int):
        self.folder = folder
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_until(lambda: _port_open(self.port), 10, "redis-server")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class Cluster:
    """The servers and the application's processes, all stopped by `close()`."""

    def __init__(
        self, name: str, *, port: int = BASE_PORT, extra_env: dict[str, str] | None = None
    ):
        self.folder = Path(tempfile.mkdtemp(prefix=f"truststream-{name}-"))
        os.chmod(self.folder, 0o755)  # noqa: S103 - the postgres user walks into it
        self.logs = self.folder / "logs"
        self.logs.mkdir()
        self.postgres = PrivatePostgres(self.folder, port)
        self.redis = PrivateRedis(self.folder, port + 1)
        self.processes: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "truststream.settings",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_COOKIES": "0",
            "STATIC_MANIFEST": "0",
            "MEDIA_ROOT": str(self.folder / "media"),
            "PACKET_SIGNING_DIR": str(self.folder / "signing"),
            "EMAIL_FILE_PATH": str(self.folder / "mail"),
            "CELERY_BEAT_SCHEDULE_FILENAME": str(self.folder / "celerybeat-schedule"),
            "LOG_LEVEL": "INFO",
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            **(extra_env or {}),
        }
        self.env.pop("CELERY_KEY_PREFIX", None)

    def start_servers(self) -> None:
        self.postgres.init()
        self.redis.start()
        self.manage("migrate", "--no-input", "-v", "0")
        self.manage("load_demo", "--i-know-this-is-not-production")

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.env,
            cwd=ROOT,
            check=False,
            capture_output=True,
            text=True,
        )

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "a")  # noqa: SIM115 - kept open by the child
        process = subprocess.Popen(
            command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.processes[name] = process
        return process

    def start_web(self, name: str, port: int, workers: int = 2) -> None:
        self._spawn(
            name,
            [
                sys.executable, "-m", "gunicorn", "truststream.wsgi",
                "-c", str(ROOT / "truststream" / "gunicorn.conf.py"),
                "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
            ],
        )  # fmt: skip
        wait_until(lambda: _port_open(port), 60, f"gunicorn on {port}")

    def start_worker(self, name: str, queues: str, concurrency: int = 1) -> None:
        self._spawn(
            name,
            [
                sys.executable, "-m", "celery", "-A", "truststream", "worker",
                "-Q", queues, "--prefetch-multiplier=1", f"--concurrency={concurrency}",
                "-n", f"{name}@%h", "-l", "INFO",
            ],
        )  # fmt: skip

    def start_beat(self) -> None:
        self._spawn(
            "beat", [sys.executable, "-m", "celery", "-A", "truststream", "beat", "-l", "INFO"]
        )

    def kill(self, name: str) -> None:
        """SIGKILL to the process and its children (a Celery worker's pool), no goodbye."""
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def log_lines(self, text: str) -> int:
        return sum(path.read_text(errors="replace").count(text) for path in self.logs.glob("*.log"))

    def close(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.redis.stop()
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.postgres.stop()

    def remove(self) -> None:
        """Forget the run's folder (its logs too): called when every check passed."""
        shutil.rmtree(self.folder, ignore_errors=True)
