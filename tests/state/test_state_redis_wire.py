"""Redis's wire format by hand: commands packed as redis-py packs them, replies read whole whatever the reads."""

from __future__ import annotations

from redis.asyncio.connection import Connection
from redis.exceptions import NoScriptError, ResponseError

from keyproxy.state.redis_scripts import ShareCalls
from keyproxy.state.redis_wire import Replies, bulk, command, pack

STREAM = (
    b"$5\r\nhello\r\n$0\r\n\r\n$-1\r\n+OK\r\n:42\r\n-ERR wrong\r\n-NOSCRIPT No matching script\r\n"
    b"*2\r\n$1\r\na\r\n*1\r\n:-1\r\n*-1\r\n"
)


def test_a_command_is_packed_as_redis_py_packs_it() -> None:
    args = (b"EVALSHA", b"abc", b"2", b"k:1", b"", b"1700000000.5")
    assert command(len(args), bulk(*args[:2]), bulk(*args[2:])) == b"".join(Connection().pack_command(*args))


def test_any_command_packs_text_as_utf8_and_numbers_in_decimal() -> None:
    packed = pack("HSET", "r\u00e9", 3, 1700000000.25, b"raw")
    assert packed == b"".join(Connection().pack_command("HSET", "r\u00e9", 3, 1700000000.25, b"raw"))


def test_a_share_call_is_packed_as_redis_py_packs_its_arguments_the_first_time_and_after() -> None:
    sha, slot, pool, released = "a" * 40, (b"k:busy", b"k:cd", b"k:bench"), (b"p1", b"p2", b"p3", b"p4", b"p5"), b"r:1"
    expected = b"".join(Connection().pack_command(
        "EVALSHA", sha, 9, *slot, *pool, released, "check", 1, 4, 600000, "m", 1700000000500000, 1, 2,
    ))  # fmt: skip
    calls = ShareCalls(sha, 600000)
    for _ in range(2):
        packed = calls.pack((3, bulk(*slot)), bulk(*pool), 1, [bulk(released)], [2], 4, "m", 1700000000.5, True)
        assert packed == expected


def test_every_reply_type_is_read() -> None:
    replies = Replies().feed(STREAM)
    assert replies[:5] == [b"hello", b"", None, b"OK", 42]
    assert type(replies[5]) is ResponseError and str(replies[5]) == "ERR wrong"
    assert isinstance(replies[6], NoScriptError)
    assert replies[7:] == [[b"a", [-1]], None]


def test_replies_cut_anywhere_across_reads_come_out_whole_and_in_order() -> None:
    whole = Replies().feed(STREAM)
    for size in (1, 2, 3, 7):
        reader, replies = Replies(), []
        for at in range(0, len(STREAM), size):
            replies += reader.feed(STREAM[at : at + size])
        assert [repr(reply) for reply in replies] == [repr(reply) for reply in whole]


def test_a_reply_cut_inside_its_body_waits_for_the_rest() -> None:
    reader = Replies()
    assert reader.feed(b"$10\r\n01234") == []
    assert reader.feed(b"56789\r\n:1") == [b"0123456789"]
    assert reader.feed(b"\r\n") == [1]
