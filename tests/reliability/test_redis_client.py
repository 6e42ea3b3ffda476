"""The process's Redis client (billing_project.redis.get_redis) packs commands and reads replies with
hiredis (C), and reads what the pure-Python parser reads: every single-event ingest makes one Redis
call of ~20 arguments after its commit; in Python that cost ~20 us more of its ~1.1 ms (issue 21)."""

import pytest
import redis
from django.conf import settings
from redis._parsers import _HiredisParser, _RESP2Parser, _RESP3Parser
from redis.connection import HiredisRespSerializer

from billing_project.redis import get_redis, redis_key


@pytest.fixture
def connection():
    pool = get_redis().connection_pool
    conn = pool.get_connection()
    yield conn
    pool.release(conn)


def test_commands_are_packed_and_replies_parsed_by_hiredis(connection):
    assert isinstance(connection._parser, _HiredisParser)
    assert isinstance(connection._command_packer, HiredisRespSerializer)


def _replies(client: redis.Redis, key: str) -> list:
    """The reply types the services read: integers, bulk strings, nil, nested arrays from Lua,
    maps, floats and errors."""
    client.delete(key, key + ":f")
    replies = [
        client.eval(
            "redis.call('HSET', KEYS[1], 'a', '1.5', 'b', 'x') return {1, 'two', {3}, false}",
            1,
            key,
        ),
        client.hgetall(key),
        client.incrbyfloat(key + ":f", "0.25"),
        client.get(key + ":missing"),
    ]
    try:
        client.incr(key)
    except redis.ResponseError as exc:
        replies.append(str(exc))
    client.delete(key, key + ":f")
    return replies


def test_hiredis_reads_every_reply_as_the_python_parser_does():
    key = redis_key("test", "hiredis")
    protocol = get_redis().get_connection_kwargs().get("protocol") or 2
    python_parser = _RESP3Parser if int(protocol) == 3 else _RESP2Parser
    plain = redis.Redis.from_url(settings.REDIS_URL, protocol=protocol, parser_class=python_parser)
    try:
        expected = _replies(plain, key)
    finally:
        plain.close()
    assert expected[:2] == [[1, b"two", [3], None], {b"a": b"1.5", b"b": b"x"}]
    assert _replies(get_redis(), key) == expected
