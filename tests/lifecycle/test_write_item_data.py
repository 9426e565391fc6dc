"""Item data on its way to storage: storable values, masking and visible truncation."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from taskrun_center.config import ItemLimits
from taskrun_center.contract import MASK
from taskrun_center.errors import InvalidValueError
from taskrun_center.lifecycle.item_data import (
    REPLACEMENT_CHARACTER,
    TRUNCATION_MARKER,
    clean_text,
    cut_text,
    prepare_json,
    prepare_text,
)
from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRunItem
from tests.factories import load_run, make_run

SECRET = "hunter2-very-secret"
FAMILY = "👨‍👩‍👧‍👦"  # one visible character made of seven code points


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def run_with_item(db: Database) -> str:
    run_id = make_run(db).run_id
    with db.transaction() as session:
        TaskRunsWriteService(session).init_items(run_id, [ItemSpec("step", "a")])
    return run_id


def stored_item(db: Database, run_id: str) -> TaskRunItem:
    with db.session() as session:
        return session.scalars(select(TaskRunItem).where(TaskRunItem.run_id == run_id)).one()


class TestPrepareText:
    def test_nul_becomes_replacement_character(self) -> None:
        assert clean_text("a\x00b") == f"a{REPLACEMENT_CHARACTER}b"

    def test_unpaired_surrogate_becomes_replacement_character(self) -> None:
        assert clean_text("x\ud800y") == f"x{REPLACEMENT_CHARACTER}y"

    def test_short_message_unchanged(self) -> None:
        prepared = prepare_text("disk full", max_chars=200)

        assert prepared.value == "disk full"
        assert prepared.truncated is False
        assert prepared.masked == 0

    def test_long_message_cut_with_marker(self) -> None:
        message = "错误 error " * 1000

        prepared = prepare_text(message, max_chars=500)

        assert prepared.value is not None
        assert prepared.truncated is True
        assert len(prepared.value) <= 500
        assert str(len(message)) in prepared.value
        assert "truncated" in prepared.value
        assert prepared.value.startswith("错误 error ")

    def test_cut_keeps_emoji_sequence_whole(self) -> None:
        text = FAMILY * 200
        marker = TRUNCATION_MARKER.format(length=len(text))
        for extra in range(1, 2 * len(FAMILY)):
            kept = cut_text(text, len(marker) + extra).removesuffix(marker)

            assert kept == FAMILY * (len(kept) // len(FAMILY)), f"cut at {extra}"

    def test_cut_keeps_combining_mark_with_letter(self) -> None:
        text = "e\u0301" * 100
        marker = TRUNCATION_MARKER.format(length=len(text))

        kept = cut_text(text, len(marker) + 3).removesuffix(marker)

        assert kept == "e\u0301"

    def test_secret_in_message_masked_and_counted(self) -> None:
        prepared = prepare_text(f"login failed, password={SECRET}", max_chars=4096)

        assert prepared.value is not None
        assert SECRET not in prepared.value
        assert MASK in prepared.value
        assert prepared.masked == 1


class TestPrepareJson:
    def test_nan_and_infinity_become_null(self) -> None:
        value = {"a": math.nan, "b": [math.inf, -math.inf], "c": 1.5}

        prepared = prepare_json(value, max_bytes=4096)

        assert prepared.value == {"a": None, "b": [None, None], "c": 1.5}

    def test_nul_in_keys_and_values_replaced(self) -> None:
        prepared = prepare_json({"k\x00": ["v\x00"]}, max_bytes=4096)

        assert prepared.value == {f"k{REPLACEMENT_CHARACTER}": [f"v{REPLACEMENT_CHARACTER}"]}

    def test_huge_integer_becomes_string(self) -> None:
        prepared = prepare_json({"big": 2**70, "small": 7}, max_bytes=4096)

        assert prepared.value == {"big": str(2**70), "small": 7}

    def test_oversize_value_truncated_visibly(self) -> None:
        details = {"rows": [{"id": index, "name": f"行 {index}"} for index in range(5000)]}

        prepared = prepare_json(details, max_bytes=4096)

        assert prepared.truncated is True
        assert prepared.value is not None
        assert prepared.value["_truncated"] is True
        assert prepared.value["original_bytes"] == prepared.original_bytes
        assert prepared.original_bytes > 4096
        assert prepared.value["max_bytes"] == 4096
        assert prepared.value["preview"].startswith('{"rows":[{"id":0')
        encoded = json.dumps(prepared.value, ensure_ascii=False, separators=(",", ":"))
        assert len(encoded.encode("utf-8")) <= 4096

    def test_preview_full_of_escapes_still_fits(self) -> None:
        details = {"text": '"\\' * 20_000}

        prepared = prepare_json(details, max_bytes=1024)

        encoded = json.dumps(prepared.value, ensure_ascii=False, separators=(",", ":"))
        assert len(encoded.encode("utf-8")) <= 1024
        assert prepared.truncated is True

    def test_secret_key_masked(self) -> None:
        prepared = prepare_json({"password": SECRET, "rows": 3}, max_bytes=4096)

        assert prepared.value == {"password": MASK, "rows": 3}
        assert prepared.masked == 1


class TestStoredItemData:
    def test_nul_stored_the_same_on_both_databases(self, db: Database) -> None:
        run_id = run_with_item(db)

        with db.transaction() as session:
            TaskRunsWriteService(session).fail_item(
                run_id, "step", "a", error_message="bad\x00byte", details={"raw": "x\x00y"}
            )

        item = stored_item(db, run_id)
        assert item.error_message == f"bad{REPLACEMENT_CHARACTER}byte"
        assert item.details_json == {"raw": f"x{REPLACEMENT_CHARACTER}y"}

    def test_nan_metric_stored_as_null(self, db: Database) -> None:
        run_id = run_with_item(db)

        with db.transaction() as session:
            TaskRunsWriteService(session).complete_item(
                run_id, "step", "a", metrics={"ratio": math.nan, "rows": 10}
            )

        assert stored_item(db, run_id).metrics_json == {"ratio": None, "rows": 10}

    def test_oversize_details_truncated_and_run_kept(self, db: Database) -> None:
        run_id = run_with_item(db)
        limits = ItemLimits(max_details_bytes=2048)
        details = {"log": "line of output\n" * 1000}

        with db.transaction() as session:
            done = TaskRunsWriteService(session, item_limits=limits).complete_item(
                run_id, "step", "a", details=details
            )

        item = stored_item(db, run_id)
        assert done is True
        assert item.details_json is not None
        assert item.details_json["_truncated"] is True
        assert item.details_json["original_bytes"] > 2048
        assert load_run(db, run_id).progress_completed == 1

    def test_long_multilingual_message_cut(self, db: Database) -> None:
        run_id = run_with_item(db)
        message = ("同步失败 sync failed " + FAMILY) * 2000

        with db.transaction() as session:
            TaskRunsWriteService(session).fail_item(run_id, "step", "a", error_message=message)

        stored = stored_item(db, run_id).error_message
        assert stored is not None
        assert len(stored) <= ItemLimits().max_error_chars
        assert stored.startswith("同步失败 sync failed ")
        assert str(len(message)) in stored

    def test_masking_logged_without_value(self, db: Database) -> None:
        run_id = run_with_item(db)

        with structlog.testing.capture_logs() as logs, db.transaction() as session:
            TaskRunsWriteService(session).fail_item(
                run_id, "step", "a",
                error_message=f"auth failed: password={SECRET}",
                details={"api_key": SECRET},
            )

        masked = [entry for entry in logs if entry["event"] == "item_data_masked"]
        fields = sorted(entry["field"] for entry in masked)
        assert fields == ["details_json", "error_message"]
        for entry in masked:
            assert entry["run_id"] == run_id
            assert entry["item_key"] == "a"
            assert entry["count"] == 1
            assert SECRET not in repr(entry)
        item = stored_item(db, run_id)
        assert SECRET not in (item.error_message or "")
        assert item.details_json == {"api_key": MASK}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=8)
    | st.dictionaries(st.text(max_size=12), children, max_size=8),
    max_leaves=30,
)


@settings(max_examples=60, deadline=None)
@given(value=st.dictionaries(st.text(max_size=12), json_values, max_size=10),
       max_bytes=st.integers(min_value=256, max_value=4096))
def test_prepared_json_always_fits_and_stores(value: dict[str, object], max_bytes: int) -> None:
    prepared = prepare_json(value, max_bytes=max_bytes)

    encoded = json.dumps(prepared.value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert len(encoded.encode("utf-8")) <= max_bytes
    assert "\x00" not in encoded
    assert "\\u0000" not in encoded
    encoded.encode("utf-8")  # raises on an unpaired surrogate


@settings(max_examples=300, deadline=None)
@given(text=st.text(min_size=1), max_chars=st.integers(min_value=128, max_value=400))
def test_prepared_text_always_fits(text: str, max_chars: int) -> None:
    prepared = prepare_text(text, max_chars=max_chars)

    assert prepared.value is not None
    assert len(prepared.value) <= max_chars
    assert "\x00" not in prepared.value
    prepared.value.encode("utf-8")  # raises on an unpaired surrogate


class TestStoredNames:
    def test_secret_in_item_name_masked(self, db: Database) -> None:
        run_id = make_run(db).run_id
        dsn = f"postgresql://admin:{SECRET}@127.0.0.1/prod"

        with structlog.testing.capture_logs() as logs, db.transaction() as session:
            TaskRunsWriteService(session).init_items(
                run_id, [ItemSpec("db", "prod", f"db {dsn}"), ItemSpec("db", "test", "db test")]
            )

        with db.session() as session:
            names = dict(session.execute(
                select(TaskRunItem.item_key, TaskRunItem.item_name)
                .where(TaskRunItem.run_id == run_id)
            ).all())
        assert names["prod"] == f"db postgresql://admin:{MASK}@127.0.0.1/prod"
        assert names["test"] == "db test"
        masked = [entry for entry in logs if entry["event"] == "item_names_masked"]
        assert [entry["secrets"] for entry in masked] == [1]
        assert SECRET not in repr(logs)

    def test_secret_in_task_name_masked(self, db: Database) -> None:
        with db.transaction() as session:
            run_id = TaskRunsWriteService(session).start_run(
                task_key="sync_orders", task_name=f"sync password={SECRET}"
            ).run_id

        run = load_run(db, run_id)
        assert SECRET not in run.task_name
        assert run.task_name.startswith("sync password=")

    def test_secret_in_item_key_rejected(self, db: Database) -> None:
        run_id = make_run(db).run_id
        dsn = f"postgresql://admin:{SECRET}@127.0.0.1/prod"

        with pytest.raises(InvalidValueError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).init_items(run_id, [ItemSpec("db", dsn)])

        assert raised.value.field == "item_key"
        assert SECRET not in str(raised.value)
        assert "secret" in str(raised.value)

    def test_phone_like_item_key_kept(self, db: Database) -> None:
        run_id = make_run(db).run_id

        with db.transaction() as session:
            TaskRunsWriteService(session).init_items(run_id, [ItemSpec("order", "13812345678")])

        assert stored_item(db, run_id).item_key == "13812345678"

    def test_secret_in_task_category_rejected(self, db: Database) -> None:
        with pytest.raises(InvalidValueError) as raised, db.transaction() as session:
            TaskRunsWriteService(session).start_run(
                task_key="sync_orders", task_category=f"password={SECRET}"
            )

        assert raised.value.field == "task_category"
        assert SECRET not in str(raised.value)
