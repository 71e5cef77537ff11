"""A demo project with realistic history, written through the same recorder as imports.

The generator plants what the analysis must find: flaky tests (some pass on retry),
a test broken from one commit on, a test that slows down, a renamed test, and a failure
pattern shared by several tests. It is deterministic for a given seed.
"""

from __future__ import annotations

import random
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from caserun.domain.model import (
    AttachmentRef,
    Attempt,
    Failure,
    FailureType,
    LaunchSource,
    Status,
    TestResult,
)
from caserun.service.launches import LaunchParams, record_completed_launch
from caserun.store import projects
from caserun.store.blobs import FileBlobStore
from caserun.store.engine import Database

DEMO_KEY = "demo"

SUITES = {
    "tests.web.test_checkout.TestCheckout": [
        "test_add_to_cart",
        "test_apply_coupon",
        "test_pay_with_card",
        "test_pay_with_paypal",
        "test_shipping_estimate",
        "test_empty_cart",
    ],
    "tests.web.test_login.TestLogin": [
        "test_login_ok",
        "test_login_wrong_password",
        "test_logout",
        "test_remember_me",
        "test_sso_redirect",
    ],
    "tests.api.test_users": [
        "test_create_user",
        "test_get_user",
        "test_update_user",
        "test_delete_user",
        "test_list_users_paginates",
        "test_user_search",
    ],
    "tests.api.test_orders": [
        "test_create_order",
        "test_cancel_order",
        "test_refund",
        "test_order_history",
        "test_invoice_pdf",
    ],
    "tests.unit.test_pricing": [f"test_discount[{n}]" for n in ("5", "10", "25", "50")]
    + ["test_tax_rounding", "test_currency_conversion"],
}
FLAKY = {"tests.web.test_checkout.TestCheckout.test_pay_with_paypal", "tests.api.test_users.test_user_search"}
BROKEN = "tests.api.test_orders.test_refund"
SLOW = "tests.web.test_checkout.TestCheckout.test_shipping_estimate"
RENAMED = ("tests.web.test_login.TestLogin.test_remember_me", "test_remember_me_checkbox")
LAUNCHES = 36
BROKEN_FROM = 28
SLOW_FROM = 22
RENAMED_FROM = 18


def tiny_png(color: tuple[int, int, int]) -> bytes:
    """A real 16×10 PNG, drawn without any imaging library."""
    width, height = 16, 10
    raw = b"".join(b"\x00" + bytes(color) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _trace(suite: str, name: str, rng: random.Random, exc: str, message: str) -> str:
    module = suite.split(".Test")[0].replace(".", "/") + ".py"
    line = rng.randint(20, 200)
    return (
        f"{module}:{line}: in {name.split('[')[0]}\n"
        f"    result = client.call(payload)\n"
        f"src/shop/client.py:{rng.randint(40, 90)}: in call\n"
        f"    response = self.session.post(url, json=payload, timeout=30)\n"
        f"E   {exc}: {message}"
    )


def _one(suite: str, name: str, index: int, rng: random.Random) -> TestResult:
    full = f"{suite}.{name}"
    if full == RENAMED[0] and index >= RENAMED_FROM:
        name = RENAMED[1]
    base = 150 + zlib.crc32(full.encode()) % 2300
    duration = int(base * rng.uniform(0.85, 1.15)) * (3 if full == SLOW and index >= SLOW_FROM else 1)
    attempts: list[Attempt] = []

    def failing(exc: str, message: str, kind: FailureType = FailureType.ASSERTION) -> Attempt:
        return Attempt(
            status=Status.FAILED,
            duration_ms=duration,
            failure=Failure(
                message=f"{exc}: {message}", type=kind, exception=exc, trace=_trace(suite, name, rng, exc, message)
            ),
            stdout=f"connecting to api-{rng.randint(1, 9)}.internal\nrequest id {rng.getrandbits(64):016x}\n",
            attachments=[
                AttachmentRef(
                    name="screenshot.png", content_type="image/png", data=tiny_png((200, rng.randint(0, 80), 60))
                )
            ]
            if "web" in suite
            else [],
        )

    if full == BROKEN and index >= BROKEN_FROM:
        attempts.append(
            failing(
                "AssertionError", f"assert refund.status == 'done', got 'pending' (order {rng.randint(1000, 9999)})"
            )
        )
    elif full in FLAKY and rng.random() < 0.3:
        attempts.append(
            failing(
                "TimeoutError", f"timed out after {rng.randint(10, 30)}s waiting for #pay-button", FailureType.TIMEOUT
            )
        )
        if rng.random() < 0.6:
            attempts.append(Attempt(status=Status.PASSED, duration_ms=duration))
    elif rng.random() < 0.015:
        attempts.append(
            failing(
                "ConnectionError",
                f"could not connect to 10.0.{rng.randint(0, 9)}.{rng.randint(1, 250)}:5432 "
                f"after {rng.randint(2, 5)} retries",
                FailureType.ERROR,
            )
        )
    elif name.startswith("test_invoice_pdf") and index % 9 == 0:
        attempts.append(Attempt(status=Status.SKIPPED, duration_ms=0))
    else:
        attempts.append(
            Attempt(status=Status.PASSED, duration_ms=duration, stdout="ok\n" if rng.random() < 0.1 else None)
        )
    return TestResult(
        suite=suite, name=name, attempts=attempts, metadata={"browser": "chromium"} if "web" in suite else {}
    )


def seed(db: Database, blob_dir: Path, *, seed_value: int = 7) -> bool:
    """Create the demo project with its history; False when it already exists."""
    rng = random.Random(seed_value)  # noqa: S311 - demo data, not secrets
    blobs = FileBlobStore(blob_dir)
    start = datetime.now(UTC) - timedelta(days=LAUNCHES // 2 + 1)
    with db.write() as conn:
        if projects.by_key(conn, DEMO_KEY) is not None:
            return False
        project_id = projects.create(conn, DEMO_KEY, "Demo shop")
        for index in range(LAUNCHES):
            env = "staging" if index % 3 else "production"
            branch = "main" if index % 4 else "feature/checkout-v2"
            when = start + timedelta(hours=12 * index, minutes=rng.randint(0, 50))
            params = LaunchParams(
                name=f"CI #{100 + index}",
                environment=env,
                branch=branch,
                commit=f"{rng.getrandbits(40):010x}",
                build_url=f"https://ci.example.com/build/{100 + index}",
                source=LaunchSource.CLI,
                started_at=when,
            )
            record_completed_launch(
                conn,
                project_id,
                params,
                (_one(suite, name, index, rng) for suite, names in SUITES.items() for name in names),
                blobs,
            )
    return True
