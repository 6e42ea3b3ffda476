"""Django's per-request health check of a kept connection (CONN_HEALTH_CHECKS), without its
`SELECT 1` while the server has sent nothing (billing_project/db_backend): a connection the server
ended is still found unusable, so the request that follows reconnects instead of failing."""

import select

import pytest
from django.db import connection, connections
from django.db.backends.postgresql.base import DatabaseWrapper as PostgresWrapper

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_connection():
    wrapper = connections.create_connection("default")
    wrapper.connect()
    yield wrapper
    wrapper.close()


def test_a_live_connection_passes_without_a_round_trip(own_connection, monkeypatch):
    asked = []
    monkeypatch.setattr(PostgresWrapper, "is_usable", lambda self: asked.append(self) or True)
    assert own_connection.is_usable()
    assert asked == []


def test_a_connection_the_server_ended_is_unusable(own_connection):
    pid = own_connection.connection.info.backend_pid
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    # The server's FATAL message and the socket's end arrive asynchronously: wait for them.
    select.select([own_connection.connection.fileno()], [], [], 10)
    assert not own_connection.is_usable()


def test_a_message_from_the_server_falls_back_to_the_query(own_connection, monkeypatch):
    asked = []
    monkeypatch.setattr(PostgresWrapper, "is_usable", lambda self: asked.append(self) or True)
    with own_connection.connection.cursor() as cursor:
        cursor.execute("LISTEN billing_health_check")
    other = connections.create_connection("default")  # autocommit: the notice goes out at once
    try:
        other.connect()
        other.connection.execute("SELECT pg_notify('billing_health_check', 'x')")
    finally:
        other.close()
    select.select([own_connection.connection.fileno()], [], [], 10)
    assert own_connection.is_usable()
    assert asked == [own_connection]


def test_a_failed_transaction_is_checked_as_django_does(own_connection):
    import psycopg

    raw = own_connection.connection
    raw.execute("BEGIN")
    with pytest.raises(psycopg.errors.DivisionByZero):
        raw.execute("SELECT 1 / 0")
    assert not own_connection.is_usable()  # Django's SELECT 1 fails in an aborted transaction
