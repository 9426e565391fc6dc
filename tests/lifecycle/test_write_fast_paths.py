"""The write service's fast paths give the same results as the general ones."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskrun_center.contract import MASK, mask_json, normalize_json
from taskrun_center.errors import InvalidValueError, ItemNotFoundError, RunNotFoundError
from taskrun_center.lifecycle.item_data import prepare_json
from taskrun_center.lifecycle.write_service import ItemSpec, TaskRunsWriteService
from taskrun_center.states import ItemStatus, RunStatus
from taskrun_center.storage.engine import Database
from taskrun_center.storage.models import TaskRunItem
from tests.factories import load_run

SECRET_TEXTS = [
    "token=abcdefghijklmnopqrstuvwxyz012345",
    "call 13812345678 now",
    "postgresql://admin:hunter2@db.internal/prod",
    "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl",
    "mail ops@example.com",
]

flat_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(SECRET_TEXTS)
)
flat_keys = st.text(max_size=12) | st.sampled_from(["password", "api_key", "tokens_total", "host"])


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _items_by_key(db: Database, run_id: str) -> dict[str, tuple[str, object, object]]:
    with db.session() as session:
        rows = session.query(TaskRunItem).filter_by(run_id=run_id).all()
        return {row.item_key: (row.status, row.metrics_json, row.error_message) for row in rows}


class TestWriteConnection:
    def test_lifecycle_through_core_connection(self, db: Database) -> None:
        with db.write_connection() as connection:
            run_id = TaskRunsWriteService(connection).start_run(task_key="fast").run_id
        with db.write_connection() as connection:
            specs = [ItemSpec("shard", str(index), None) for index in range(3)]
            TaskRunsWriteService(connection).init_items(run_id, specs)

        with db.write_connection() as connection:
            service = TaskRunsWriteService(connection)
            assert service.complete_item(run_id, "shard", "0", metrics={"host": "db-1"})
            assert service.fail_item(run_id, "shard", "1", error_message="password=hunter2")
            assert not service.complete_item(run_id, "shard", "1")
        with db.write_connection() as connection:
            final = TaskRunsWriteService(connection).mark_run_failed(run_id, "stopped")

        run = load_run(db, run_id)
        items = _items_by_key(db, run_id)
        assert final is True
        assert run.status == RunStatus.FAILED.value
        assert run.progress_completed == 1
        assert run.progress_failed == 2
        assert items["0"] == (ItemStatus.COMPLETED.value, {"host": "db-1"}, None)
        assert items["1"][0] == ItemStatus.FAILED.value
        assert "hunter2" not in str(items["1"][2])
        assert items["2"][0] == ItemStatus.FAILED.value

    def test_error_rolls_back_connection_transaction(self, db: Database) -> None:
        with db.write_connection() as connection:
            run_id = TaskRunsWriteService(connection).start_run(task_key="fast").run_id
            TaskRunsWriteService(connection).init_items(run_id, [ItemSpec("shard", "0", None)])

        with pytest.raises(ItemNotFoundError), db.write_connection() as connection:
            service = TaskRunsWriteService(connection)
            service.complete_item(run_id, "shard", "0")
            service.complete_item(run_id, "shard", "missing")

        assert _items_by_key(db, run_id)["0"][0] == ItemStatus.PENDING.value
        assert load_run(db, run_id).progress_completed == 0

    def test_unknown_run_raises_not_found(self, db: Database) -> None:
        with pytest.raises(RunNotFoundError), db.write_connection() as connection:
            TaskRunsWriteService(connection).start_item("no-such-run", "shard", "0")


def _general_path(value: dict[str, object]) -> tuple[object, int]:
    masked = mask_json(normalize_json(dict(value)))
    return masked.value, masked.count


class TestFlatMetrics:
    def test_secrets_in_several_strings_masked_and_counted(self) -> None:
        value = {"a": SECRET_TEXTS[0], "b": SECRET_TEXTS[1], "password": "x", "rows": 3}

        prepared = prepare_json(value, max_bytes=4096)

        assert prepared.value is not None
        assert prepared.value["password"] == MASK
        assert "hunter2" not in str(prepared.value)
        assert (prepared.value, prepared.masked) == _general_path(value)

    def test_repeated_string_masked_each_time(self) -> None:
        first = prepare_json({"note": SECRET_TEXTS[1]}, max_bytes=4096)
        second = prepare_json({"note": SECRET_TEXTS[1]}, max_bytes=4096)

        assert first == second
        assert second.masked == 1

    def test_nested_value_takes_general_path(self) -> None:
        value = {"outer": {"password": "x"}, "list": [SECRET_TEXTS[2]]}

        prepared = prepare_json(value, max_bytes=4096)

        assert (prepared.value, prepared.masked) == _general_path(value)


@settings(max_examples=200, deadline=None)
@given(value=st.dictionaries(flat_keys, flat_scalars, max_size=8))
def test_flat_metrics_match_general_path(value: dict[str, object]) -> None:
    valid = {key: item for key, item in value.items() if "\x00" not in key and (
        not isinstance(item, str) or "\x00" not in item)}
    valid = {key: item for key, item in valid.items()
             if all(not "\ud800" <= char <= "\udfff" for char in key + str(item))}

    prepared = prepare_json(valid, max_bytes=1 << 20)

    assert (prepared.value, prepared.masked) == _general_path(valid)


class TestClaimRun:
    def _pending_run(self, db: Database) -> str:
        with db.transaction() as session:
            service = TaskRunsWriteService(session)
            return service.start_run(task_key="claim", status=RunStatus.PENDING).run_id

    def test_first_claim_moves_pending_to_running(self, db: Database) -> None:
        run_id = self._pending_run(db)

        with db.transaction() as session:
            first = TaskRunsWriteService(session).claim_run(run_id, "claim")
        with db.transaction() as session:
            second = TaskRunsWriteService(session).claim_run(run_id, "claim")

        run = load_run(db, run_id)
        assert first is None
        assert second is RunStatus.RUNNING
        assert run.status == RunStatus.RUNNING.value
        assert run.started_at is not None

    def test_claim_of_other_task_key_rejected(self, db: Database) -> None:
        run_id = self._pending_run(db)

        with pytest.raises(InvalidValueError), db.transaction() as session:
            TaskRunsWriteService(session).claim_run(run_id, "another")

        assert load_run(db, run_id).status == RunStatus.PENDING.value

    def test_claim_of_unknown_run_raises_not_found(self, db: Database) -> None:
        with pytest.raises(RunNotFoundError), db.transaction() as session:
            TaskRunsWriteService(session).claim_run("no-such-run", "claim")
