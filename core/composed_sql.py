"""Statements composed with psycopg2.sql (identifiers of temporary tables), run as text.

Django's cursor wrappers, and pghistory's in back-office requests, expect a string; a `Composed`
is rendered against the connection first. Values stay parameters."""


def execute(cursor, query, params=None) -> None:
    cursor.execute(query if isinstance(query, str) else query.as_string(cursor.cursor), params)


def execute_many(cursor, query, param_list) -> None:
    cursor.executemany(query if isinstance(query, str) else query.as_string(cursor.cursor), param_list)
