# ruff: noqa: E501 - sample traces and messages are kept on one line, as tools print them
"""Writes ``labelled.jsonl``: failures of five languages, each with a ground-truth cluster.

    python tests/data/patterns/generate.py   # deterministic (seeded); rewrites labelled.jsonl

Every cluster is one underlying cause, written in the shape real tools print (pytest long,
short and native tracebacks, JUnit 4/5 via Surefire, jest, mocha, vitest, Playwright, node,
``go test`` with t.Errorf, panics and testify, NUnit/xUnit/MSTest). The shapes were taken
from traces captured by running those tools (the reports under ``tests/data/reports`` and
small failing programs) and from public examples; each sample varies what varies between
real runs: ids, addresses, ports, timestamps, temp paths, durations, line numbers, the
checkout path of the CI machine, the calling test, the number of runner frames.

Some clusters are deliberately hard: the same message from different code (different
clusters), a message whose volatile part no mask knows (one cluster), one cause showing as
two exception types (one cluster, which the algorithm splits) and two causes a mask makes
look alike (two clusters, which the algorithm merges). They keep the figures honest.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).with_name("labelled.jsonl")
Sample = tuple[str | None, str, str]  # exception, message, trace
R = random.Random


def prefix(rng: R) -> str:
    return rng.choice(["/home/runner/work/shop/shop/", "/builds/acme/shop/", "/Users/dev/src/shop/", "", "/app/"])


def ip(rng: R) -> str:
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def hexid(rng: R, n: int = 12) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def stamp(rng: R) -> str:
    return f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z"


def uid(rng: R) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128)))


# ---------------------------------------------------------------------------- Python


def pytest_trace(rng: R, frames: list[tuple[str, str, str]], error: str, exc_line: str) -> str:
    """frames: (path, function, source line), outermost first; one of pytest's three styles."""
    base = prefix(rng)
    frames = [(path, fn.split("[")[0], src) for path, fn, src in frames]  # tracebacks name the function
    style = rng.choice(["long", "short", "native"])
    lines: list[str] = []
    if style == "short":
        for path, fn, src in frames:
            lines += [f"{path}:{rng.randint(5, 300)}: in {fn}", f"    {src}"]
        lines.append(f"E   {exc_line}")
    elif style == "native":
        lines.append("Traceback (most recent call last):")
        for path, fn, src in frames:
            lines += [f'  File "{base}{path}", line {rng.randint(5, 300)}, in {fn}', f"    {src}"]
        lines.append(exc_line)
    else:
        for i, (path, fn, src) in enumerate(frames):
            lines += [f"    def {fn}(self, *args):", f">       {src}"]
            if i == len(frames) - 1:
                lines += [f"E       {exc_line}", "", f"{path}:{rng.randint(5, 300)}: {error}"]
            else:
                lines += ["", f"{path}:{rng.randint(5, 300)}: ", "_ " * 20]
    return "\n".join(lines)


SITE = "/usr/lib/python3.11/site-packages/"
TESTS_ORDERS = ["test_create_order", "test_cancel_order", "test_refund", "test_order_history", "test_invoice_pdf"]


def py_conn(rng: R) -> Sample:
    msg = f"could not connect to {ip(rng)}:{rng.choice([5432, 5433, 6432])} after {rng.randint(2, 5)} retries (request {uid(rng)})"
    test = rng.choice(TESTS_ORDERS)
    frames = [
        (f"tests/test_{test.split('_')[1]}s.py", test, "client.call('/orders', payload)"),
        ("shop/client.py", "call", "return self._send('POST', path, payload)"),
        ("shop/client.py", "_send", "raise ConnectionError(msg)"),
    ]
    return (
        "ConnectionError",
        f"ConnectionError: {msg}",
        pytest_trace(rng, frames, "ConnectionError", f"ConnectionError: {msg}"),
    )


def py_conn_reset(rng: R) -> Sample:
    """The payments service restarting: refused or reset, one cause (the algorithm splits it)."""
    kind = rng.choice(["ConnectionResetError", "ConnectionRefusedError"])
    msg = "[Errno 104] Connection reset by peer" if kind == "ConnectionResetError" else "[Errno 111] Connection refused"
    frames = [
        ("tests/test_payments.py", rng.choice(["test_pay_card", "test_pay_paypal", "test_refund_card"]), "pay(order)"),
        ("shop/payments.py", "charge", "resp = self._post(url, body)"),
        ("shop/payments.py", "_post", "return self.session.post(url, json=body)"),
        (f"{SITE}requests/sessions.py", "post", "return self.request('POST', url, data=data, json=json, **kwargs)"),
        (f"{SITE}requests/adapters.py", "send", "raise ConnectionError(err, request=request)"),
    ]
    return kind, f"{kind}: {msg}", pytest_trace(rng, frames, kind, f"{kind}: {msg}")


def py_users_500(rng: R) -> Sample:
    msg = f'GET /users/{rng.randint(1, 99999)} returned 500: {{"error": "db timeout after {rng.randint(5, 60)}s"}}'
    test = rng.choice(["test_get_user", "test_update_user", "test_user_search", "test_delete_user"])
    frames = [
        ("tests/api/test_users.py", test, "api.get_user(uid)"),
        ("shop/client.py", "get_user", "raise ApiError(...)"),
    ]
    return (
        "ApiError",
        f"shop.client.ApiError: {msg}",
        pytest_trace(rng, frames, "ApiError", f"shop.client.ApiError: {msg}"),
    )


def py_assert_total(rng: R) -> Sample:
    got = rng.choice(["13.5", "14", "12.99", "13.01", "0"])
    frames = [("tests/test_cart.py", "test_total", "assert cart.total() == 13")]
    return "AssertionError", f"assert {got} == 13", pytest_trace(rng, frames, "AssertionError", f"assert {got} == 13")


def py_assert_subtotal(rng: R) -> Sample:
    """The same message as py_assert_total from another test: another cluster."""
    got = rng.choice(["13.5", "14", "12.5"])
    frames = [("tests/test_cart.py", "test_subtotal", "assert cart.subtotal() == 13")]
    return "AssertionError", f"assert {got} == 13", pytest_trace(rng, frames, "AssertionError", f"assert {got} == 13")


def py_refund_status(rng: R) -> Sample:
    state = rng.choice(["pending", "queued", "failed"])
    msg = f"assert '{state}' == 'done'\n  - done\n  + {state}"
    frames = [("tests/test_orders.py", "test_refund", "assert refund.status == 'done'")]
    return (
        "AssertionError",
        f"AssertionError: {msg}",
        pytest_trace(rng, frames, "AssertionError", f"AssertionError: {msg}"),
    )


def py_keyerror_order(rng: R) -> Sample:
    key = f"order-{rng.randint(1000, 99999)}"
    frames = [
        ("tests/test_orders.py", rng.choice(TESTS_ORDERS), "load_order(orders, oid)"),
        ("shop/orders.py", "load_order", "return orders[order_id]"),
    ]
    return "KeyError", f"KeyError: '{key}'", pytest_trace(rng, frames, "KeyError", f"KeyError: '{key}'")


def py_keyerror_field(rng: R) -> Sample:
    """A missing field in the same function: another cause a quoted-value mask merges with the one above."""
    frames = [
        ("tests/test_orders.py", rng.choice(TESTS_ORDERS), "load_order(orders, oid)"),
        ("shop/orders.py", "load_order", "return orders[order_id]"),
    ]
    return (
        "KeyError",
        "KeyError: 'shipping_address'",
        pytest_trace(rng, frames, "KeyError", "KeyError: 'shipping_address'"),
    )


def py_price(rng: R) -> Sample:
    text = rng.choice([f"EUR {rng.randint(1, 99)},{rng.randint(0, 99):02d}", f"{rng.randint(1, 9)} €", "n/a"])
    msg = f"could not convert string to float: '{text}'"
    frames = [
        ("tests/unit/test_pricing.py", rng.choice(["test_parse_price", "test_discount[10]", "test_discount[25]"]), "x"),
        ("shop/prices.py", "parse_price", "return float(text.replace('$', ''))"),
    ]
    return "ValueError", f"ValueError: {msg}", pytest_trace(rng, frames, "ValueError", f"ValueError: {msg}")


def py_playwright_timeout(rng: R) -> Sample:
    ms = rng.choice([5000, 10000, 30000])
    msg = f'Timeout {ms}ms exceeded.\n=========================== logs ===========================\nwaiting for locator("#pay-button")'
    frames = [
        ("tests/e2e/test_checkout.py", "test_pay_with_card", "page.locator('#pay-button').click()"),
        (f"{SITE}playwright/sync_api/_generated.py", "click", "self._sync(self._impl_obj.click(...))"),
        (f"{SITE}playwright/_impl/_connection.py", "wrap_api_call", "raise rewrite_error(error, f'{pn}: {e}')"),
    ]
    exc = "playwright._impl._errors.TimeoutError"
    return "TimeoutError", f"{exc}: Locator.click: {msg}", pytest_trace(rng, frames, "TimeoutError", f"{exc}: {msg}")


def py_fixture_db(rng: R) -> Sample:
    inner = f"RuntimeError: database 'shop_test_{rng.randint(1, 32)}' is not reachable at 127.0.0.1:{rng.randint(5432, 5499)}"
    frames = [("tests/conftest.py", "db", "raise RuntimeError(...)")]
    return "RuntimeError", f'failed on setup with "{inner}"', pytest_trace(rng, frames, "RuntimeError", inner)


def py_tmp_file(rng: R) -> Sample:
    path = rng.choice(
        [
            f"/tmp/pytest-of-runner/pytest-{rng.randint(0, 99)}/test_export{rng.randint(0, 3)}/report.csv",
            f"/var/folders/{hexid(rng, 2)}/{hexid(rng, 8)}/T/tmp{hexid(rng, 8)}/report.csv",
            f"/tmp/tmp{hexid(rng, 8)}/report.csv",
        ]
    )
    msg = f"[Errno 2] No such file or directory: '{path}'"
    frames = [
        ("tests/test_export.py", rng.choice(["test_export_csv", "test_export_twice"]), "export(orders, tmp_path)"),
        ("shop/export.py", "read_report", "with open(path) as fh:"),
    ]
    return (
        "FileNotFoundError",
        f"FileNotFoundError: {msg}",
        pytest_trace(rng, frames, "FileNotFoundError", f"FileNotFoundError: {msg}"),
    )


def py_none_total(rng: R) -> Sample:
    msg = "'NoneType' object has no attribute 'total'"
    frames = [
        ("tests/web/test_checkout.py", rng.choice(["test_checkout", "test_checkout_guest", "test_empty_cart"]), "x"),
        ("shop/views.py", "checkout", "return render(cart.summary())"),
        ("shop/cart.py", "summary", "return {'total': self.order.total}"),
    ]
    return (
        "AttributeError",
        f"AttributeError: {msg}",
        pytest_trace(rng, frames, "AttributeError", f"AttributeError: {msg}"),
    )


def py_integrity(rng: R) -> Sample:
    email = f"user{rng.randint(1, 9999)}@example.com"
    msg = (
        'duplicate key value violates unique constraint "users_email_key"\n'
        f"DETAIL:  Key (email)=({email}) already exists."
    )
    frames = [
        ("tests/api/test_users.py", rng.choice(["test_create_user", "test_signup", "test_invite"]), "x"),
        ("shop/users.py", "create_user", "User.objects.create(email=email)"),
        (f"{SITE}django/db/models/query.py", "create", "obj.save(force_insert=True, using=self.db)"),
        (f"{SITE}django/db/backends/utils.py", "_execute", "return self.cursor.execute(sql, params)"),
    ]
    exc = "django.db.utils.IntegrityError"
    return "IntegrityError", f"{exc}: {msg}", pytest_trace(rng, frames, "IntegrityError", f"{exc}: {msg}")


# ---------------------------------------------------------------------------- Java

JUNIT5 = [
    "org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)",
    "org.junit.jupiter.engine.execution.MethodInvocation.proceed(MethodInvocation.java:60)",
    "org.junit.jupiter.engine.execution.InvocationInterceptorChain$ValidatingInvocation.proceed(InvocationInterceptorChain.java:131)",
    "org.junit.jupiter.engine.extension.TimeoutExtension.intercept(TimeoutExtension.java:156)",
    "org.junit.jupiter.engine.descriptor.TestMethodTestDescriptor.invokeTestMethod(TestMethodTestDescriptor.java:217)",
    "org.junit.platform.engine.support.hierarchical.ThrowableCollector.execute(ThrowableCollector.java:73)",
    "org.apache.maven.surefire.junitplatform.JUnitPlatformProvider.invoke(JUnitPlatformProvider.java:150)",
    "org.apache.maven.surefire.booter.ForkedBooter.main(ForkedBooter.java:495)",
]
JUNIT4 = [
    "org.junit.Assert.fail(Assert.java:89)",
    "org.junit.Assert.failNotEquals(Assert.java:835)",
    "org.junit.Assert.assertEquals(Assert.java:555)",
]
REFLECT = [
    "java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)",
    "java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:77)",
    "java.base/jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)",
    "java.base/java.lang.reflect.Method.invoke(Method.java:569)",
]


def java_trace(rng: R, head: str, inner: list[str], app: list[tuple[str, str]], outer: list[str] | None = None) -> str:
    """inner: library frames above the app frames; app: (Class.method, File.java)."""
    lines = [head]
    lines += [f"\tat {f}" for f in inner]
    lines += [f"\tat {fn}({file}:{rng.randint(10, 400)})" for fn, file in app]
    tail = REFLECT + (outer if outer is not None else JUNIT5[: rng.randint(3, len(JUNIT5))])
    lines += [f"\tat {f}" for f in tail]
    return "\n".join(lines)


def java_npe(rng: R) -> Sample:
    msg = 'Cannot invoke "java.lang.Integer.intValue()" because the return value of "java.util.Map.get(Object)" is null'
    test = rng.choice(["reservesStock", "reservesTwice", "failsWithoutStock"])
    app = [
        ("com.acme.shop.OrderService.reserve", "OrderService.java"),
        (f"com.acme.shop.OrderServiceTest.{test}", "OrderServiceTest.java"),
    ]
    return "java.lang.NullPointerException", msg, java_trace(rng, f"java.lang.NullPointerException: {msg}", [], app)


def java_npe_release(rng: R) -> Sample:
    """The same message from another method: another cluster."""
    msg = 'Cannot invoke "java.lang.Integer.intValue()" because the return value of "java.util.Map.get(Object)" is null'
    app = [
        ("com.acme.shop.OrderService.release", "OrderService.java"),
        ("com.acme.shop.OrderServiceTest.releasesStock", "OrderServiceTest.java"),
    ]
    return "java.lang.NullPointerException", msg, java_trace(rng, f"java.lang.NullPointerException: {msg}", [], app)


def java_assert_total(rng: R) -> Sample:
    got = rng.choice(["13.5", "14.0", "12.99"])
    msg = f"discounted total expected:<13.0> but was:<{got}>"
    app = [("shop.CartTest.appliesADiscount", "CartTest.java")]
    return "java.lang.AssertionError", msg, java_trace(rng, f"java.lang.AssertionError: {msg}", JUNIT4, app, outer=[])


def java_assertj(rng: R) -> Sample:
    state = rng.choice(["PENDING", "DECLINED", "NEW"])
    msg = f'\nexpected: "PAID"\n but was: "{state}"'
    app = [("com.acme.shop.PaymentTest.paysAnOrder", "PaymentTest.java")]
    inner = ["org.assertj.core.api.AbstractAssert.isEqualTo(AbstractAssert.java:91)"]
    head = f"org.opentest4j.AssertionFailedError: {msg}"
    return "org.opentest4j.AssertionFailedError", msg, java_trace(rng, head, inner, app)


def java_number_format(rng: R) -> Sample:
    msg = f'For input string: "EUR {rng.randint(1, 999)}"'
    inner = [
        "java.base/jdk.internal.math.FloatingDecimal.readJavaFormatString(FloatingDecimal.java:2054)",
        "java.base/jdk.internal.math.FloatingDecimal.parseDouble(FloatingDecimal.java:110)",
        "java.base/java.lang.Double.parseDouble(Double.java:651)",
    ]
    test = rng.choice(["parsesEuros", "parsesCents", "parsesWithSpaces"])
    app = [
        ("com.acme.shop.PriceParser.parse", "PriceParser.java"),
        (f"com.acme.shop.PriceParserTest.{test}", "PriceParserTest.java"),
    ]
    return (
        "java.lang.NumberFormatException",
        msg,
        java_trace(rng, f"java.lang.NumberFormatException: {msg}", inner, app),
    )


def java_query_timeout(rng: R) -> Sample:
    msg = f"PreparedStatementCallback; SQL [select * from orders where id = ?]; Query timed out after {rng.randint(5, 60)}000 ms"
    inner = [
        "org.springframework.jdbc.support.SQLExceptionSubclassTranslator.doTranslate(SQLExceptionSubclassTranslator.java:73)",
        "org.springframework.jdbc.core.JdbcTemplate.execute(JdbcTemplate.java:651)",
        "org.springframework.jdbc.core.JdbcTemplate.queryForObject(JdbcTemplate.java:883)",
    ]
    test = rng.choice(["findsOrder", "findsOrderWithLines", "listsOrders"])
    app = [
        ("com.acme.shop.repo.OrderRepository.findById", "OrderRepository.java"),
        (f"com.acme.shop.repo.OrderRepositoryIT.{test}", "OrderRepositoryIT.java"),
    ]
    exc = "org.springframework.dao.QueryTimeoutException"
    cause = f"Caused by: java.sql.SQLTimeoutException: canceling statement due to statement timeout\n\t... {rng.randint(40, 90)} more"
    return exc, msg, java_trace(rng, f"{exc}: {msg}", inner, app) + "\n" + cause


def java_index(rng: R) -> Sample:
    msg = f"Index {rng.randint(1, 9)} out of bounds for length {rng.randint(0, 1)}"
    inner = [
        "java.base/jdk.internal.util.Preconditions.outOfBounds(Preconditions.java:64)",
        "java.base/java.util.Objects.checkIndex(Objects.java:361)",
        "java.base/java.util.ArrayList.get(ArrayList.java:427)",
    ]
    test = rng.choice(["returnsFirstItem", "returnsLastItem"])
    app = [("com.acme.shop.Cart.item", "Cart.java"), (f"com.acme.shop.CartTest.{test}", "CartTest.java")]
    return (
        "java.lang.IndexOutOfBoundsException",
        msg,
        java_trace(rng, f"java.lang.IndexOutOfBoundsException: {msg}", inner, app),
    )


def java_gateway(rng: R) -> Sample:
    msg = f"payment gateway returned 503 for order {uid(rng)} at {stamp(rng)} (took {rng.randint(100, 9000)}ms)"
    app = [
        ("com.acme.shop.PaymentClient.charge", "PaymentClient.java"),
        ("com.acme.shop.CheckoutService.lambda$checkout$" + str(rng.randint(0, 3)), "CheckoutService.java"),
        ("com.acme.shop.CheckoutServiceTest.checksOut", "CheckoutServiceTest.java"),
    ]
    return "java.lang.IllegalStateException", msg, java_trace(rng, f"java.lang.IllegalStateException: {msg}", [], app)


# ---------------------------------------------------------------------------- JavaScript

JEST_TAIL = [
    "Promise.finally.completed ({nm}/jest-circus/build/jestAdapterInit.js:1834:28)",
    "new Promise (<anonymous>)",
    "callAsyncCircusFn ({nm}/jest-circus/build/jestAdapterInit.js:1774:10)",
    "_callCircusTest ({nm}/jest-circus/build/jestAdapterInit.js:1167:40)",
    "_runTestInContext ({nm}/jest-circus/build/jestAdapterInit.js:1103:3)",
    "run ({nm}/jest-circus/build/jestAdapterInit.js:789:3)",
    "runTestInternal ({nm}/jest-runner/build/index.js:247:16)",
]


def js_frames(rng: R, app: list[tuple[str, str]], tail: list[str]) -> str:
    base = prefix(rng) or "/work/shop/"
    nm = f"{base}node_modules"
    lines = []
    for fn, file in app:
        loc = "<anonymous>" if file == "<anonymous>" else f"{base}{file}:{rng.randint(5, 200)}:{rng.randint(1, 40)}"
        lines.append(f"    at {fn} ({loc})" if fn else f"    at {loc}")
    lines += ["    at " + t.format(nm=nm) for t in tail[: rng.randint(2, len(tail))]]
    return "\n".join(lines)


def jest_total(rng: R) -> Sample:
    got = rng.choice(["13.5", "14", "12.5"])
    color = rng.random() < 0.3
    received = f"\x1b[31m{got}\x1b[39m" if color else got
    head = f"Error: expect(received).toBe(expected) // Object.is equality\n\nExpected: 13\nReceived: {received}"
    trace = head + "\n" + js_frames(rng, [("Object.toBe", "__tests__/cart.test.js")], JEST_TAIL)
    return None, head.split("\n")[0], trace


def js_null_items(rng: R) -> Sample:
    msg = "Cannot read properties of null (reading 'items')"
    test = rng.choice(["cart.test.js", "checkout.test.js", "basket.test.js"])
    trace = f"TypeError: {msg}\n" + js_frames(
        rng, [("total", "src/cart.js"), ("Object.<anonymous>", f"__tests__/{test}")], JEST_TAIL
    )
    return "TypeError", msg, trace


def js_undefined_price(rng: R) -> Sample:
    msg = f"Cannot read properties of undefined (reading '{rng.choice(['price', 'amount'])}')"
    app = [("lineTotal", "src/cart.js"), ("Array.reduce", "<anonymous>"), ("total", "src/cart.js")]
    trace = f"TypeError: {msg}\n" + js_frames(rng, app, JEST_TAIL)
    return "TypeError", msg, trace


def playwright_visible(rng: R) -> Sample:
    ms = rng.choice([5000, 10000])
    msg = (
        "Error: expect(locator).toBeVisible() failed\n\n"
        "Locator: getByRole('button', { name: 'Pay now' })\nExpected: visible\n"
        f'Received: <element(s) not found>\nTimeout: {ms}ms\n\nCall log:\n  - Expect "toBeVisible" with timeout {ms}ms'
    )
    line = rng.randint(20, 60)
    trace = (
        f"\n  checkout.spec.ts:{line}:3 › checkout › pays by card ───────────\n\n    {msg}\n\n"
        f"      {line + 2} |     await page.getByRole('button', {{ name: 'Pay now' }}).click();\n"
        f"        at {prefix(rng) or '/work/shop/'}tests/checkout.spec.ts:{line + 2}:{rng.randint(5, 60)}\n"
    )
    return "expect.toBeVisible", "expect(locator).toBeVisible() failed", trace


def mocha_hook(rng: R) -> Sample:
    msg = f"payment gateway stub did not start on port {rng.randint(3000, 9999)} within {rng.randint(2, 10)}s"
    trace = f"Error: {msg}\n    at Context.<anonymous> (test/checkout.spec.js:{rng.randint(50, 70)}:11)\n    at process.processImmediate (node:internal/timers:483:21)"
    return "Error", msg, trace


def node_refused(rng: R) -> Sample:
    msg = f"connect ECONNREFUSED 127.0.0.1:{rng.randint(3000, 9999)}"
    trace = f"Error: {msg}\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:{rng.choice([1555, 1595, 1611])}:16)"
    return "Error", msg, trace


def vitest_nan(rng: R) -> Sample:
    want = rng.choice(["3.5", "1.5", "2"])
    msg = f"expected NaN to be {want} // Object.is equality"
    trace = f"\nAssertionError: {msg}\n\n- Expected\n+ Received\n\n- {want}\n+ NaN\n\n \u276f test/price.test.js:{rng.randint(10, 40)}:{rng.randint(10, 40)}\n"
    return "AssertionError", msg, trace


# ---------------------------------------------------------------------------- Go


def go_discount(rng: R) -> Sample:
    got = rng.choice(["13.5", "14", "12.75"])
    text = f"    cart_test.go:{rng.randint(15, 30)}: Total() with 10% discount = {got}, want 13"
    return (
        None,
        text.strip(),
        f"=== RUN   TestDiscount\n{text}\n--- FAIL: TestDiscount ({rng.randint(0, 9) / 100:.2f}s)",
    )


def go_panic(rng: R, fn: str, file: str, test: str, reason: str) -> str:
    root = rng.choice(["/usr/local/go", "/usr/lib/go-1.22", "/opt/hostedtoolcache/go/1.21.5/x64"])
    home = prefix(rng) or "/src/shop/"

    def addr() -> str:
        return f"0x{hexid(rng, 6)}"

    return "\n".join(
        [
            f"--- FAIL: {test} (0.00s)",
            f"panic: {reason} [recovered]",
            f"\tpanic: {reason}",
            "",
            f"goroutine {rng.randint(5, 60)} [running]:",
            f"testing.tRunner.func1.2({{{addr()}, 0xc000{hexid(rng, 6)}}})",
            f"\t{root}/src/testing/testing.go:{rng.randint(1390, 1640)} +0x24e",
            f"panic({{{addr()}, 0xc000{hexid(rng, 6)}}})",
            f"\t{root}/src/runtime/panic.go:{rng.randint(770, 920)} +0x212",
            f"example.com/shop/{fn}(...)",
            f"\t{home}{file}:{rng.randint(5, 90)}",
            f"example.com/shop/{test_pkg(fn)}.{test}(0xc000{hexid(rng, 6)}?)",
            f"\t{home}{file.replace('.go', '_test.go')}:{rng.randint(5, 90)} +0x{hexid(rng, 2)}",
            f"testing.tRunner(0xc000{hexid(rng, 6)}, {addr()})",
            f"\t{root}/src/testing/testing.go:{rng.randint(1440, 1690)} +0x10b",
            "created by testing.(*T).Run in goroutine 1",
            f"\t{root}/src/testing/testing.go:{rng.randint(1490, 1740)} +0x35f",
        ]
    )


def test_pkg(fn: str) -> str:
    return fn.split(".", 1)[0]


def go_index(rng: R) -> Sample:
    reason = f"runtime error: index out of range [{rng.randint(1, 9)}] with length {rng.randint(0, 1)}"
    trace = go_panic(rng, "cart.(*basket).third", "cart/cart.go", rng.choice(["TestThird", "TestTotalOfThree"]), reason)
    return None, f"panic: {reason} [recovered]", trace


def go_nil(rng: R) -> Sample:
    reason = "runtime error: invalid memory address or nil pointer dereference"
    trace = go_panic(
        rng, "checkout.Charge", "checkout/checkout.go", rng.choice(["TestChargeNilCard", "TestChargeGuest"]), reason
    )
    trace = trace.replace(
        "\n\ngoroutine",
        f"\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x8 pc=0x{hexid(rng, 6)}]\n\ngoroutine",
    )
    return None, f"panic: {reason} [recovered]", trace


def go_testify(rng: R) -> Sample:
    state = rng.choice(["pending", "failed", "new"])
    line = rng.randint(20, 80)
    text = (
        f"    orders_test.go:{line}: \n"
        f"        \tError Trace:\t{prefix(rng) or '/src/shop/'}orders/orders_test.go:{line}\n"
        f'        \tError:      \tNot equal: \n        \t            \texpected: "paid"\n        \t            \tactual  : "{state}"\n'
        f"        \tTest:       \tTestPayOrder"
    )
    return None, text.strip().split("\n")[0], f"=== RUN   TestPayOrder\n{text}\n--- FAIL: TestPayOrder (0.01s)"


# ---------------------------------------------------------------------------- .NET


def dotnet_frames(rng: R, app: list[tuple[str, str]], tail: list[str]) -> str:
    base = rng.choice(["/home/runner/work/shop/shop/", "C:\\agent\\_work\\1\\s\\", "/src/"])
    sep = "\\" if base.startswith("C:") else "/"
    lines = [f"   at {fn} in {base}{file.replace('/', sep)}:line {rng.randint(10, 300)}" for fn, file in app]
    return "\n".join(lines + [f"   at {t}" for t in tail])


def nunit_total(rng: R) -> Sample:
    got = rng.choice(["13.5m", "14m", "12.99m"])
    msg = f"  Expected: 13m\n  But was:  {got}\n"
    trace = dotnet_frames(rng, [("Shop.Tests.CartTests.AppliesDiscount()", "Shop.Tests/CartTests.cs")], [])
    return "NUnit.Framework.AssertionException", msg, trace


def xunit_nre(rng: R) -> Sample:
    test = rng.choice(["ReservesStock", "ReservesTwice", "ReservesLastItem"])
    trace = dotnet_frames(
        rng,
        [
            ("Shop.Orders.OrderService.Reserve(String sku, Int32 quantity)", "Shop/Orders/OrderService.cs"),
            (f"Shop.Tests.OrderServiceTests.{test}()", "Shop.Tests/OrderServiceTests.cs"),
        ],
        [
            "System.RuntimeMethodHandle.InvokeMethod(Object target, Void** arguments, Signature sig, Boolean isConstructor)",
            "System.Reflection.MethodInvoker.Invoke(Object obj, IntPtr* args, BindingFlags invokeAttr)",
        ][: rng.randint(0, 2)],
    )
    return "System.NullReferenceException", "Object reference not set to an instance of an object.", trace


def mstest_http(rng: R) -> Sample:
    msg = f"Connection refused (localhost:{rng.randint(5000, 5999)})"
    trace = dotnet_frames(
        rng,
        [
            ("Shop.Api.CatalogClient.GetProductAsync(Int32 id)", "Shop.Api/CatalogClient.cs"),
        ],
        [],
    )
    trace = (
        "   at System.Net.Http.HttpConnectionPool.ConnectToTcpHostAsync(String host, Int32 port, HttpRequestMessage initialRequest, Boolean async, CancellationToken cancellationToken)\n"
        "   at System.Net.Http.HttpClient.<SendAsync>g__Core|83_0(HttpRequestMessage request, HttpCompletionOption completionOption, CancellationTokenSource cts, Boolean disposeCts, CancellationTokenSource pendingRequestsCts, CancellationToken originalCancellationToken)\n"
        + trace
        + "\n--- End of stack trace from previous location ---\n"
        + dotnet_frames(
            rng,
            [
                (
                    f"Shop.Tests.CatalogTests.{rng.choice(['LoadsProduct', 'LoadsPrices'])}()",
                    "Shop.Tests/CatalogTests.cs",
                )
            ],
            [],
        )
        + "\n   at Microsoft.VisualStudio.TestPlatform.MSTestAdapter.PlatformServices.ThreadOperations.ExecuteWithAbortSafety(Action action)"
    )
    return "System.Net.Http.HttpRequestException", msg, trace


def dotnet_keynotfound(rng: R) -> Sample:
    msg = f"The given key 'sku-{rng.randint(100, 999)}' was not present in the dictionary."
    trace = dotnet_frames(
        rng,
        [
            ("Shop.Inventory.Stock.Get(String sku)", "Shop/Inventory/Stock.cs"),
            ("Shop.Tests.StockTests.ReadsStock()", "Shop.Tests/StockTests.cs"),
        ],
        ["System.Collections.Generic.Dictionary`2.get_Item(TKey key)"][: rng.randint(0, 1)],
    )
    trace = trace.replace(
        "   at Shop.Inventory", "   at System.ThrowHelper.ThrowKeyNotFoundException[T](T key)\n   at Shop.Inventory", 1
    )
    return "System.Collections.Generic.KeyNotFoundException", msg, trace


# ---------------------------------------------------------------------------- the set

#: cluster → (generator, how many samples)
CLUSTERS: dict[str, tuple[Callable[[R], Sample], int]] = {
    "py-connection-refused": (py_conn, 30),
    "py-payments-restart": (py_conn_reset, 8),
    "py-users-500": (py_users_500, 12),
    "py-assert-total": (py_assert_total, 10),
    "py-assert-subtotal": (py_assert_subtotal, 4),
    "py-refund-status": (py_refund_status, 9),
    "py-keyerror-order": (py_keyerror_order, 8),
    "py-keyerror-field": (py_keyerror_field, 3),
    "py-price-parse": (py_price, 10),
    "py-playwright-timeout": (py_playwright_timeout, 7),
    "py-fixture-db": (py_fixture_db, 9),
    "py-tmp-file": (py_tmp_file, 6),
    "py-none-total": (py_none_total, 8),
    "py-integrity-email": (py_integrity, 6),
    "java-npe-reserve": (java_npe, 12),
    "java-npe-release": (java_npe_release, 4),
    "java-assert-total": (java_assert_total, 8),
    "java-assertj-paid": (java_assertj, 6),
    "java-number-format": (java_number_format, 9),
    "java-query-timeout": (java_query_timeout, 7),
    "java-index": (java_index, 6),
    "java-gateway-503": (java_gateway, 14),
    "jest-total": (jest_total, 9),
    "js-null-items": (js_null_items, 14),
    "js-undefined-price": (js_undefined_price, 6),
    "playwright-pay-visible": (playwright_visible, 8),
    "mocha-gateway-hook": (mocha_hook, 5),
    "node-econnrefused": (node_refused, 7),
    "vitest-nan": (vitest_nan, 6),
    "go-discount": (go_discount, 8),
    "go-panic-index": (go_index, 7),
    "go-panic-nil-charge": (go_nil, 6),
    "go-testify-paid": (go_testify, 6),
    "nunit-total": (nunit_total, 7),
    "xunit-nre-reserve": (xunit_nre, 9),
    "mstest-catalog-refused": (mstest_http, 6),
    "dotnet-keynotfound": (dotnet_keynotfound, 5),
    "singleton-py-recursion": (
        lambda rng: (
            "RecursionError",
            "RecursionError: maximum recursion depth exceeded",
            pytest_trace(
                rng, [("shop/tree.py", "walk", "return walk(node.parent)")], "RecursionError", "RecursionError: x"
            ),
        ),
        1,
    ),
    "singleton-java-oom": (
        lambda rng: (
            "java.lang.OutOfMemoryError",
            "Java heap space",
            java_trace(
                rng, "java.lang.OutOfMemoryError: Java heap space", [], [("com.acme.shop.Report.build", "Report.java")]
            ),
        ),
        1,
    ),
}


def main() -> None:
    rng = random.Random(20251125)
    rows = []
    for label, (make, count) in CLUSTERS.items():
        for _ in range(count):
            exception, message, trace = make(rng)
            rows.append({"cluster": label, "exception": exception, "message": message, "trace": trace})
    rng.shuffle(rows)
    with OUT.open("w") as out:
        for n, row in enumerate(rows, 1):
            out.write(json.dumps({"id": n, **row}, ensure_ascii=False) + "\n")
    print(f"{len(rows)} failures in {len(CLUSTERS)} clusters → {OUT}")


if __name__ == "__main__":
    main()
