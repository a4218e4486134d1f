"""A hostile comment corpus through the real ASL on moto: exactly one record per comment line, and nothing
published that was not judged (issue 8, items 3, 8 and 12; issue 9: the post's minor context reaches the
comments). Each test names the promise it guards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.conditions import Key

from tests.integration.stacks import emulated_stack
from tests.integration.test_pipeline import CHILD, _FakeScan
from tutela.comment_records import expand
from tutela.comments.lines import parse_batch, split_batch
from tutela.decision import object_keys
from tutela.objects import ObjectRef
from tutela_dev.emulator import samples
from tutela_dev.emulator.runner import Runner, published_path
from tutela_dev.emulator.stack import EmulatedStack

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
GROOMING = "how old r u? add me on snap, dont tell ur parents"


def _j(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


# (line bytes, expected: "allow" | "held:<code>" | "flagged")
CORPUS: list[tuple[bytes, str]] = [
    (_j({"id": "ok1", "text": "lovely light"}), "allow"),
    (_j({"id": "extra", "text": "nice", "title": GROOMING, "nested": {"t": GROOMING}}), "allow"),
    (b'{"id": "dupkey", "text": "' + GROOMING.encode() + b'", "text": "nice"}', "held:duplicate_key"),
    (b'{"id": "dupkey2", "text": "nice", "text": "' + GROOMING.encode() + b'"}', "held:duplicate_key"),
    (_j({"id": "bidi", "text": "\u202e" + GROOMING[::-1] + "\u202c"}), "held:bidi_control"),
    (_j({"id": "iso", "text": "\u2067" + GROOMING[::-1] + "\u2069"}), "held:bidi_control"),
    (_j({"id": "zw", "text": "\u200b".join(GROOMING)}), "flagged"),
    (_j({"id": "tags", "text": "nice" + "".join(chr(0xE0000 + ord(c)) for c in "send pics")}), "allow"),
    (_j({"id": "x" * 2048, "text": "nice"}), "held:unsafe_id"),
    (_j({"id": "dup", "text": GROOMING}), "flagged"),
    (_j({"id": "dup", "text": "nice"}), "allow"),
    (_j({"id": "line-13", "text": GROOMING}), "flagged"),
    (_j({"text": "lovely light, well done"}), "allow"),  # no id: the line number stands in
    (_j({"id": "huge", "text": "a" * 70_000}), "held:invalid_comment"),
    (b'{"id": "utf8", "text": "\xff\xfe"}', "held:invalid_comment"),
    (_j({"id": "ctx", "text": "you look so sexy", "minor_context": False}), "flagged"),
    (_j({"id": 7, "text": "nice"}), "allow"),
    (_j({"id": ["list"], "text": "nice"}), "held:invalid_comment"),
    (_j({"id": "num", "text": 12}), "held:invalid_comment"),
    (b"[1, 2, 3]", "held:invalid_comment"),
    (b"", "blank"),
    (_j({"id": "nl\u2028sep", "text": "ok"}), "held:unsafe_id"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    with emulated_stack(tmp_path_factory, retry_scale=0.01) as s:
        yield s


@pytest.fixture(scope="module")
def minor_post(stack: EmulatedStack, runner: Runner, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A post whose media decision recorded a likely minor (no exposure: allowed, location scrubbed)."""
    photo = samples.photo(tmp_path_factory.mktemp("media") / "kid.jpg", size=(320, 240))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(
            stack.handler_module("ScanMediaFunction"), "scan_file", lambda *a, **k: _FakeScan([], CHILD)
        )
        up = runner.upload(photo, "media/kid-post/kid.jpg")
        runner.deliver(up)
    [line] = runner.decisions(up)
    assert line["minor"] == "likely"
    return "kid-post"


def _batch(tmp: Path) -> Path:
    path = tmp / "hostile.jsonl"
    path.write_bytes(b"\n".join(line for line, _ in CORPUS) + b"\n")
    return path


def _records(runner: Runner, key: str) -> list[dict[str, Any]]:
    pk = object_keys(ObjectRef(runner.bucket, key))["pk"]
    items = runner.table.query(KeyConditionExpression=Key("pk").eq(pk), ConsistentRead=True)["Items"]
    # Every line: its own item when flagged, else the batch item's allowed_lines (tutela.comment_records).
    (batch,) = [i for i in items if "#c#" not in i["sk"] and not i["sk"].endswith("#action")]
    return expand(batch, [i for i in items if "#c#" in i["sk"]])


def _check_batch(runner: Runner, key: str, *, minor: bool | None) -> None:
    records = _records(runner, key)
    expected = [(n, want) for n, (_, want) in enumerate(CORPUS, 1) if want != "blank"]
    # Promise: every comment has exactly one record whatever its id (one per non-blank line).
    assert [int(r["line"]) for r in records] == [n for n, _ in expected]
    for record, (n, want) in zip(records, expected, strict=True):
        if want == "allow":
            assert record["verdict"] == "allow", (n, record)
        elif want == "flagged":
            assert record["verdict"] != "allow", (n, record)
        else:
            code = want.split(":")[1]
            assert record["verdict"] == "review" and record["reasons"][0]["code"] == code, (n, record)
        assert record.get("minor_context") is minor, n
    # Promise: only judged content is published, re-serialised from the judged fields.
    body = dict(runner.published())[key]
    published = [json.loads(x) for x in body.splitlines()]
    allowed = {int(r["line"]) for r in records if r["verdict"] == "allow"}
    judged = {c.line: c for c in parse_batch(split_batch(_batch_bytes()), None)}
    assert [set(p) for p in published] == [{"id", "text"}] * len(published)
    assert published == [{"id": judged[n].id, "text": judged[n].text} for n in sorted(allowed)]
    text = body.decode()
    assert "snap" not in text and "send pics" not in text and "\u202e" not in text
    assert not any(0xE0000 <= ord(ch) <= 0xE007F for ch in text)


def _batch_bytes() -> bytes:
    return b"\n".join(line for line, _ in CORPUS) + b"\n"


def test_hostile_batch_on_an_unknown_post(runner: Runner, tmp_path: Path) -> None:
    up = runner.upload(_batch(tmp_path), "comments/stranger-post/hostile.jsonl")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED"
    _check_batch(runner, up.key, minor=None)


def test_comments_on_a_post_with_a_minor_are_judged_as_such(
    runner: Runner, minor_post: str, tmp_path: Path
) -> None:
    """Promise (issue 9 mutation: post_minor_context always False survived): the post's recorded media
    decision reaches its comments, and a line's minor_context false cannot lower it."""
    up = runner.upload(_batch(tmp_path), f"comments/{minor_post}/hostile.jsonl")
    runner.deliver(up)
    _check_batch(runner, up.key, minor=True)
    ctx = next(r for r in _records(runner, up.key) if r.get("comment_id") == "ctx")
    assert ctx["verdict"] != "allow" and ctx["minor_context"] is True


@pytest.mark.parametrize(
    "key",
    [
        "media/../../escape.jpg",
        "media/p/../../../escape.jpg",
        "media//double.jpg",
        "media/p/./dot.jpg",
        "comments/p/../../escape.jsonl",
        "media/p/back\\slash.jpg",
    ],
)
def test_keys_with_path_tricks_are_held_with_a_reason(runner: Runner, tmp_path: Path, key: str) -> None:
    """Promise: a key with path tricks is never published (issue 8, item 12); it gets a decision."""
    path = (
        samples.photo(tmp_path / "p.jpg", (64, 48))
        if key.startswith("media")
        else samples.thread(tmp_path / "t.jsonl")
    )
    up = runner.upload(path, key)
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED"
    [line] = runner.decisions(up)
    assert line["verdict"] == "review" and line["reasons"] == ["unsafe_key"]
    assert key not in dict(runner.published())


def test_the_emulator_runner_never_writes_outside_published(tmp_path: Path) -> None:
    base = (tmp_path / "published").resolve()
    for key in ("../x", "a/../../x", "/etc/passwd", "a//b", "a\\..\\b", "a/./b", ".."):
        assert published_path(base, key) is None, key
    assert published_path(base, "media/p/a.jpg") == base / "media/p/a.jpg"


def test_a_comment_repeating_one_term_gets_its_record(runner: Runner, tmp_path: Path) -> None:
    """Input class: one comment of 4,999 repeated emoji (a 20 KB line, inside every limit). One evidence
    span per occurrence made its record ~570 KB, over DynamoDB's 400 KB item: Act failed, the execution
    failed, the blocked comment had no record and the allowed one was not published. Promise: every comment
    gets exactly one record and only judged content is published."""
    path = tmp_path / "repeats.jsonl"
    egg_line = _j({"id": "egg", "text": "\U0001f346" * 4999})
    path.write_bytes(egg_line + b"\n" + _j({"id": "ok", "text": "nice"}))
    up = runner.upload(path, "comments/repeat-post/repeats.jsonl")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), str(execution.get("cause"))[:300])
    egg, ok = _records(runner, up.key)
    assert (egg["comment_id"], egg["verdict"]) == ("egg", "block") and egg["evidence"]
    assert ok["verdict"] == "allow"
    assert dict(runner.published())[up.key] == b'{"id": "ok", "text": "nice"}\n'


def test_no_comment_text_reaches_the_logs(
    runner: Runner, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Promise: nothing in the logs but codes and counts, for every hostile line (held, flagged, allowed,
    a repeated-emoji one that used to fail Act). The handlers log at the template's level (INFO)."""
    import logging

    path = tmp_path / "logged.jsonl"
    path.write_bytes(_batch_bytes() + _j({"id": "egg", "text": "\U0001f346" * 300 + " sexy"}) + b"\n")
    with caplog.at_level(logging.DEBUG, logger="tutela"):  # the handlers' logger (not boto's wire logs)
        up = runner.upload(path, "comments/log-post/logged.jsonl")
        [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED"
    logged = "\n".join(repr(vars(r)) for r in caplog.records if r.name.startswith("tutela"))
    assert "'acted'" in logged and "'recorded'" in logged  # the handlers' records were captured
    for secret in ("snap", "parents", "lovely light", "send pics", "sexy", "\U0001f346", "\\U0001f346"):
        assert secret not in logged, secret


def test_a_batch_whose_results_outgrow_the_limit_is_held_whole(
    stack: EmulatedStack, runner: Runner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Input class: many short comments that each repeat a term. Each one's result (100 evidence spans) is
    ~30x its line: measured, 6,500 lines of 90 emoji (a 2.5 MB batch, inside the 8 MB / 20,000-line limits)
    staged 76 MB of results, over the 64 MB RecordDecision reads back: no decision stored, the execution
    dead-lettered (and ClassifyComments' memory, 512 MB, grows with the results). Promise: exactly one
    decision, here the batch held whole with a reason. The limit is scaled down (to 1 MB) to keep the test
    small; the same limit binds both steps."""
    for name in ("ClassifyCommentsFunction", "RecordDecisionFunction"):
        monkeypatch.setattr(stack.handler_module(name), "MAX_COMMENT_RESULTS_BYTES", 1024**2, raising=False)
    path = tmp_path / "outgrown.jsonl"
    path.write_bytes(
        b"".join(_j({"id": f"c{i}", "text": "\U0001f346" * 90 + f" {i}"}) + b"\n" for i in range(300))
    )
    up = runner.upload(path, "comments/outgrown-post/outgrown.jsonl")
    [execution] = runner.deliver(up)
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), str(execution.get("cause"))[:300])
    [line] = runner.decisions(up)
    assert line["verdict"] == "review" and line["reasons"] == ["limit_exceeded"], line
    assert up.key not in dict(runner.published())
