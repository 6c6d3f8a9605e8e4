"""Helpers for tests that start other processes (workers, servers) against the test database."""

from urllib.parse import quote


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL naming the same database as `settings_dict`, for a child process: over TCP,
    or over a Unix socket (the embedded PostgreSQL's HOST is a directory)."""
    user = quote(settings_dict["USER"] or "postgres")
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict.get("PASSWORD") else ""
    name = quote(settings_dict["NAME"])
    host = settings_dict["HOST"] or ""
    if host.startswith("/"):
        return f"postgres://{user}{password}@/{name}?host={host}"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{user}{password}@{host}{port}/{name}"
