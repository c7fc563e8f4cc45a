"""One Idempotency-Key, many concurrent requests: one 202, the rest the same answer or a 409, never a 503.

The adapter's reading of each shape DynamoDB cancels a draft-and-claim transaction with (`claim_lost`),
and the service's answers when it loses the claim, the holder is still mid-write, or nobody holds it.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from chalicelib.adapters.dynamodb import claim_lost
from chalicelib.errors import Conflict
from chalicelib.orders import services
from chalicelib.orders.errors import IdempotencyConflict, IdempotencyInProgress, IdempotencyKeyTaken
from chalicelib.orders.model import IdempotencyRecord, Order
from chalicelib.orders.requests import parse_order_request
from devstack import dynamodb_local
from tests.unit import fakes
from tests.unit.test_services import World, body, draft_of, two_directors

KEY = "AREA-CREDIT/k-1"
HOLDER = "ord_" + "f" * 32


def cancelled(*codes: str | None, error: str = "TransactionCanceledException") -> TransactWriteError:
    """A TransactWriteError as PynamoDB raises it for DynamoDB's answer with these CancellationReasons."""
    reasons = [CancellationReason(code=code) if code is not None else None for code in codes]
    cause = VerboseClientError(
        {"Error": {"Code": error, "Message": "Transaction cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=reasons,
    )
    return TransactWriteError("Failed to write transaction items", cause=cause)


@pytest.mark.parametrize(
    ("codes", "error", "contended"),
    [
        ((None, "ConditionalCheckFailed"), "TransactionCanceledException", False),
        (("ConditionalCheckFailed", "ConditionalCheckFailed"), "TransactionCanceledException", False),
        ((None, "TransactionConflict"), "TransactionCanceledException", True),
        (("TransactionConflict", None), "TransactionCanceledException", True),
        (("TransactionConflict", "TransactionConflict"), "TransactionCanceledException", True),
        (("TransactionConflict", "ConditionalCheckFailed"), "TransactionCanceledException", True),
        ((), "TransactionConflictException", True),
    ],
)
def test_each_lost_claim_shape_is_a_taken_key(codes: tuple[str | None, ...], error: str, contended: bool) -> None:
    lost = claim_lost(cancelled(*codes, error=error), KEY)
    assert lost is not None and (lost.key, lost.contended) == (KEY, contended)


@pytest.mark.parametrize(
    ("codes", "error"),
    [
        ((None, "ThrottlingError"), "TransactionCanceledException"),
        (("TransactionConflict", "ProvisionedThroughputExceeded"), "TransactionCanceledException"),
        (("ConditionalCheckFailed", None), "TransactionCanceledException"),  # the draft's own key: not a claim
        ((None, None, "TransactionConflict"), "TransactionCanceledException"),  # not our two-item transaction
        ((), "InternalServerError"),
        ((), "ValidationException"),
    ],
)
def test_other_failures_are_not_read_as_a_taken_key(codes: tuple[str | None, ...], error: str) -> None:
    assert claim_lost(cancelled(*codes, error=error), KEY) is None


class ScriptedRepository(fakes.FakeRepository):
    """add() raises the scripted losses first; `holder_after` looks after which the holder's key appears,
    `visible_after` looks after which its order does (the holder mid-write)."""

    def __init__(self, losses: list[IdempotencyKeyTaken], holder: IdempotencyRecord | None) -> None:
        super().__init__()
        self.losses = losses
        self.holder = holder
        self.holder_after = 0
        self.visible_after = 0
        self.key_looks = 0
        self.order_looks = 0

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        if self.losses:
            raise self.losses.pop(0)
        super().add(order, idempotency)

    def find_idempotency(self, key: str) -> IdempotencyRecord | None:
        self.key_looks += 1
        if self.holder is not None and self.key_looks > self.holder_after:
            return self.holder
        return super().find_idempotency(key)

    def get(self, order_key: str) -> Order | None:
        self.order_looks += 1
        if self.holder is not None and order_key == self.holder.order_key:
            if self.order_looks > self.visible_after:
                return draft_of(body(), order_key)
            return None
        return super().get(order_key)


def world_with(repository: fakes.FakeRepository) -> World:
    world = two_directors()
    world.repository = repository
    world.service = replace(world.service, repository=repository)
    return world


def holder_record(raw: dict[str, Any] | None = None) -> IdempotencyRecord:
    return IdempotencyRecord(KEY, services.fingerprint(parse_order_request(raw or body())), HOLDER)


def test_a_transaction_conflict_answers_as_the_holder_once_it_is_visible() -> None:
    repository = ScriptedRepository([IdempotencyKeyTaken(KEY, contended=True)], holder_record())
    repository.holder_after = 1  # our first look (before the partners) found nobody
    world = world_with(repository)
    accepted = world.create(body(), key="k-1")
    assert (accepted.order_key, accepted.replayed) == (HOLDER, True)
    assert world.queue.sent == [] and repository.orders == {}


def test_both_transactions_cancelled_means_nobody_holds_the_key_so_we_claim_it_after_a_pause() -> None:
    world = world_with(ScriptedRepository([IdempotencyKeyTaken(KEY, contended=True)] * 2, None))
    accepted = world.create(body(), key="k-1")
    assert not accepted.replayed and world.queue.sent == [accepted.order_key]
    assert world.sleeps == [0.02, 0.04]  # jitter answers the ceiling here; it is drawn from [0, ceiling]


def test_a_holder_still_writing_its_order_is_waited_for_then_replayed() -> None:
    repository = ScriptedRepository([], holder_record())
    repository.visible_after = 3  # the key is there, its order appears on the fourth look
    world = world_with(repository)
    accepted = world.create(body(), key="k-1")
    assert (accepted.order_key, accepted.replayed) == (HOLDER, True)
    assert len(world.sleeps) == 3 and world.queue.sent == []


def test_a_holder_mid_write_beyond_the_bounded_wait_is_a_409_in_progress_never_a_503() -> None:
    repository = ScriptedRepository([], holder_record())
    repository.visible_after = 1_000
    world = world_with(repository)
    with pytest.raises(IdempotencyInProgress) as refused:
        world.create(body(), key="k-1")
    assert isinstance(refused.value, Conflict) and refused.value.code == "IDEMPOTENCY_IN_PROGRESS"
    attempts = world.service.idempotency_attempts
    assert len(world.sleeps) == attempts - 1 and max(world.sleeps) <= services.IDEMPOTENCY_BACKOFF_CAP_S
    assert sum(world.sleeps) <= 0.5 and repository.orders == {} and world.queue.sent == []


def test_a_key_lost_on_every_attempt_is_a_409_in_progress() -> None:
    attempts = two_directors().service.idempotency_attempts
    world = world_with(ScriptedRepository([IdempotencyKeyTaken(KEY, contended=True)] * attempts, None))
    with pytest.raises(IdempotencyInProgress):
        world.create(body(), key="k-1")
    assert world.repository.orders == {} and world.queue.sent == []


def test_a_conflict_with_a_holder_of_another_body_is_a_409_conflict() -> None:
    repository = ScriptedRepository([IdempotencyKeyTaken(KEY, contended=True)], holder_record(body(amount="2000.00")))
    repository.holder_after = 1
    with pytest.raises(IdempotencyConflict) as refused:
        world_with(repository).create(body(), key="k-1")
    assert refused.value.code == "IDEMPOTENCY_CONFLICT"


class LandedThenLost(fakes.FakeRepository):
    """Our transaction committed but its answer was lost; the SDK's retry then finds both items taken."""

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        super().add(order, idempotency)
        raise IdempotencyKeyTaken(idempotency.key if idempotency else order.order_key)


def test_our_own_landed_write_is_queued_not_replayed() -> None:
    world = world_with(LandedThenLost())
    accepted = world.create(body(), key="k-1")
    assert not accepted.replayed and world.queue.sent == [accepted.order_key]


class SerializingRepository(fakes.FakeRepository):
    """Concurrent add()s for one key behave as DynamoDB's transactions do: one commits; a request whose
    transaction overlaps another's is cancelled (TransactionConflict), and one that comes after a commit
    fails its condition. The key and the order become visible together when the holder commits."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.writing: set[str] = set()
        self.barrier = threading.Barrier(8, timeout=5)
        self.first_tries = threading.local()

    def add(self, order: Order, idempotency: IdempotencyRecord | None) -> None:
        assert idempotency is not None
        if not getattr(self.first_tries, "done", False):
            self.first_tries.done = True
            self.barrier.wait()  # every request reaches its first write at once
        with self.lock:
            if self.writing:
                raise IdempotencyKeyTaken(idempotency.key, contended=True)
            if idempotency.key in self.keys:
                raise IdempotencyKeyTaken(idempotency.key)
            self.writing.add(order.order_key)
        time.sleep(0.01)  # the holder's transaction takes a while
        with self.lock:
            super().add(order, idempotency)
            self.writing.discard(order.order_key)


def test_concurrent_requests_with_one_key_create_one_order_and_replay_it() -> None:
    world = world_with(SerializingRepository())
    world.service = replace(
        world.service,
        sleep=time.sleep,
        new_order_key=lambda: "ord_" + uuid.uuid4().hex,
    )
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: world.create(body(), key="k-1"), range(8)))
    assert len(world.repository.orders) == 1 and len(world.queue.sent) == 1
    (order_key,) = world.repository.orders
    assert {answer.order_key for answer in answers} == {order_key}
    assert sorted(answer.replayed for answer in answers) == [False] + [True] * 7


def test_dynamodb_local_is_looked_for_where_the_readme_says(tmp_path: Path) -> None:
    missing = dynamodb_local.locate({"AME_DYNAMODB_LOCAL_JAR": str(tmp_path / "DynamoDBLocal.jar"), "PATH": ""})
    assert isinstance(missing, str) and "names no file" in missing and dynamodb_local.DOWNLOAD_URL in missing
    jar = tmp_path / "DynamoDBLocal.jar"
    jar.write_bytes(b"")
    no_libs = dynamodb_local.locate({"AME_DYNAMODB_LOCAL_JAR": str(jar), "PATH": ""})
    assert isinstance(no_libs, str) and "DynamoDBLocal_lib" in no_libs
    (tmp_path / "DynamoDBLocal_lib").mkdir()
    no_java = dynamodb_local.locate({"AME_DYNAMODB_LOCAL_JAR": str(jar), "PATH": str(tmp_path)})
    assert isinstance(no_java, str) and "no `java`" in no_java
    running = dynamodb_local.locate({"AME_DYNAMODB_LOCAL_ENDPOINT": "http://127.0.0.1:8000"})
    assert running == dynamodb_local.Engine(endpoint="http://127.0.0.1:8000")


def test_setup_never_fails_for_want_of_dynamodb_local(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(dynamodb_local, "locate", lambda env=None: "not there")
    assert dynamodb_local.install() == 0
    assert capsys.readouterr().out.startswith("DynamoDB Local: unavailable")
