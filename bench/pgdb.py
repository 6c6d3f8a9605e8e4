"""A scratch PostgreSQL database for the benchmark scripts: created, queried and dropped with
autocommit connections. The scripts import it from their own folder (run as `python bench/x.py`)."""

import contextlib
import urllib.parse

import psycopg2


class ScratchDatabase:
    def __init__(self, *, host: str, port: int, user: str, name: str, app_options: str = ""):
        self.host, self.port, self.user, self.name = host, port, user, name
        # Connection options for the app only (e.g. "-c jit=off"), passed in its DATABASE_URL.
        self.app_options = app_options

    @property
    def url(self) -> str:
        """The app's DATABASE_URL."""
        options = f"?options={urllib.parse.quote(self.app_options)}" if self.app_options else ""
        return f"postgres://{self.user}@{self.host}:{self.port}/{self.name}{options}"

    def connect(self, dbname: str | None = None):
        conn = psycopg2.connect(host=self.host, port=self.port, user=self.user, dbname=dbname or self.name)
        conn.autocommit = True
        return conn

    def recreate(self) -> None:
        with contextlib.closing(self.connect("postgres")) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
            cur.execute(f"CREATE DATABASE {self.name}")

    def drop(self) -> None:
        with contextlib.closing(self.connect("postgres")) as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def query(self, sql: str, params=None) -> list[tuple]:
        with contextlib.closing(self.connect()) as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
