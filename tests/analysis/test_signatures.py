# ruff: noqa: E501, W291 - traces are quoted as tools print them (long lines, trailing blanks)
"""Signatures: masking, frame parsing and filtering per language, on traces shaped as real tools print them.

The traces come from running the tools (pytest 8, node 20 with jest/mocha/vitest/Playwright,
go 1.19, OpenJDK 17 with JUnit) or from their documentation, shortened.
"""

from __future__ import annotations

import pytest

from caserun.analysis import signatures as S
from caserun.analysis.patterns import group
from caserun.analysis.signatures import compute, mask

# ---------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("user 4711 not found", "user <n> not found"),
        ("request 978837d7-22fa-46a4-98b9-879a727e384a failed", "request <uuid> failed"),
        ("object at 0x7f2a6ba50c50", "object at <addr>"),
        ("com.acme.Cart@1b6d3586 is stale", "com.acme.Cart@<addr> is stale"),
        ("commit 9fceb02d0ae598e95dc970b74767f19372d61af8 missing", "commit <hex> missing"),
        ("at 2024-05-01T10:22:33.123Z and 2024-05-01 10:22:33", "at <time> and <time>"),
        ("on Mon, 02 Jan 2006 15:04:05 GMT", "on <time> <time> GMT"),
        ("at 10:22:33.5 sharp", "at <time> sharp"),
        ("could not connect to 10.0.3.17:5432", "could not connect to <host>"),
        ("could not connect to db-primary.internal:5432", "could not connect to <host>"),
        ("GET http://localhost:8080/users/7", "GET http://<host>/users/<n>"),
        ("listen on [2001:db8::1]", "listen on [<n>:db<n>::<n>]"),
        ("cart_test.go:12: want 13", "cart_test.go:<n>: want <n>"),
        ("mail alice.smith+ci@example.com bounced", "mail <email> bounced"),
        ("open /tmp/pytest-of-ci/pytest-12/test_export0/report.csv", "open <tmp>"),
        ("open /var/folders/x1/abc/T/tmpq/report.csv", "open <tmp>"),
        (r"open C:\Users\ci\AppData\Local\Temp\tmp1234\a.txt", "open <tmp>"),
        (
            "timed out after 30s, 1500 ms, 2.5 seconds, 1h2m3.5s",
            "timed out after <duration>, <duration>, <duration>, <duration>",
        ),
        ("KeyError: 'user_id'", "KeyError: '<str>'"),
        ('For input string: "EUR 3"', 'For input string: "<str>"'),
        ("can't find the user's cart", "can't find the user's cart"),
        ("expected:<13.0> but was:<13.5>", "expected:<value> but was:<value>"),
        ("token req_8f3k2j9s7d1q4 rejected", "token <id> rejected"),
        ("\x1b[31mred\x1b[39m text", "red text"),
    ],
)
def test_masks(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_volatile_values_give_one_signature() -> None:
    one = compute("ValueError", "bad price 12 for order 978837d7-22fa-46a4-98b9-879a727e384a at 10.0.0.1", None)
    two = compute("ValueError", "bad price 7 for order 00000000-1111-2222-3333-444444444444 at 10.9.9.9", None)
    assert one.digest == two.digest and len(one.digest) == 64
    assert compute("ValueError", "bad currency", None).digest != one.digest


def test_the_exception_is_read_from_the_message_when_not_declared() -> None:
    assert compute(None, "TypeError: x is undefined", None).exception == "TypeError"
    assert compute(None, "assert 13.5 == 13", None).exception == "AssertionError"
    assert compute(None, "panic: runtime error: index out of range [5] with length 3", None).exception == "panic"
    assert compute(None, "something broke", None).exception == ""
    # a qualified name and its short name are one type; the repeated prefix leaves the message
    sig = compute("java.lang.IllegalStateException", "java.lang.IllegalStateException: closed", None)
    assert (sig.exception, sig.message) == ("IllegalStateException", "closed")


def test_message_keeps_its_first_lines() -> None:
    sig = compute("AssertionError", "one\n\ntwo 2\nthree\nfour\nfive\nsix", None)
    assert sig.message == "one | two <n> | three | four"


def test_pytest_phase_errors_are_unwrapped() -> None:
    sig = compute("RuntimeError", "failed on setup with \"RuntimeError: database 'shop_7' is down\"", None)
    assert sig.message == "failed on setup: database '<str>' is down"


# ---------------------------------------------------------------------------- Python

PYTEST_LONG = """def test_checkout_connection():
>       Client("http://x").call("/orders", {"a": 1})

test_shop.py:6: 
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 
shop/client.py:10: in call
    return self._send("POST", path, payload)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
_ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ 

self = <shop.client.Client object at 0x7f2a6ba50c50>, method = 'POST'

    def _send(self, method, path, payload):
        rid = uuid.uuid4()
>       raise ConnectionError(f"could not connect to 10.0.3.17:5432 after 3 retries (request {rid})")
E       ConnectionError: could not connect to 10.0.3.17:5432 after 3 retries (request 978837d7-22fa-46a4-98b9-879a727e384a)

shop/client.py:13: ConnectionError"""

PYTEST_SHORT = """test_shop.py:6: in test_checkout_connection
    Client("http://x").call("/orders", {"a": 1})
shop/client.py:10: in call
    return self._send("POST", path, payload)
shop/client.py:13: in _send
    raise ConnectionError(f"could not connect to 10.0.3.17:5432 after 3 retries (request {rid})")
E   ConnectionError: could not connect to 10.0.3.17:5432 after 3 retries (request fc351a0f-bc0f-44d6-916b-cc22b7eb0ffc)"""

PYTHON_NATIVE = """Traceback (most recent call last):
  File "/home/runner/work/shop/shop/test_shop.py", line 6, in test_checkout_connection
    Client("http://x").call("/orders", {"a": 1})
  File "/home/runner/work/shop/shop/shop/client.py", line 10, in call
    return self._send("POST", path, payload)
  File "/home/runner/work/shop/shop/shop/client.py", line 13, in _send
    raise ConnectionError(f"could not connect to {host} after 3 retries (request {rid})")
ConnectionError: could not connect to 10.0.9.2:5433 after 3 retries (request 0b9a)"""

PYTHON_LIBRARIES = """Traceback (most recent call last):
  File "/app/tests/test_users.py", line 20, in test_create_user
    create_user("a@example.com")
  File "/app/shop/users.py", line 31, in create_user
    User.objects.create(email=email)
  File "/usr/lib/python3.11/site-packages/django/db/models/query.py", line 658, in create
    obj.save(force_insert=True, using=self.db)
  File "/usr/lib/python3.11/site-packages/django/db/backends/utils.py", line 89, in _execute
    return self.cursor.execute(sql, params)
  File "/usr/lib/python3.11/asyncio/base_events.py", line 653, in run_until_complete
    return future.result()
django.db.utils.IntegrityError: duplicate key value violates unique constraint "users_email_key\""""

PYTEST_RUNNER = """Traceback (most recent call last):
  File "/venv/lib/python3.12/site-packages/_pytest/runner.py", line 341, in from_call
    result: TResult | None = func()
  File "/venv/lib/python3.12/site-packages/pluggy/_callers.py", line 103, in _multicall
    res = hook_impl.function(*args)
  File "/src/tests/test_cart.py", line 12, in test_total
    assert total(items) == 13
AssertionError"""


@pytest.mark.parametrize("trace", [PYTEST_LONG, PYTEST_SHORT, PYTHON_NATIVE], ids=["long", "short", "native"])
def test_python_tracebacks_innermost_first(trace: str) -> None:
    assert S.app_frames(trace) == ["client.py:_send", "client.py:call", "test_shop.py:test_checkout_connection"]


def test_python_tracebacks_of_any_style_give_one_signature() -> None:
    message = "ConnectionError: could not connect to 10.0.3.17:5432 after 3 retries (request 9)"
    digests = {compute("ConnectionError", message, t).digest for t in (PYTEST_LONG, PYTEST_SHORT, PYTHON_NATIVE)}
    assert len(digests) == 1


def test_python_library_stdlib_and_runner_frames_are_dropped() -> None:
    assert S.app_frames(PYTHON_LIBRARIES) == ["users.py:create_user", "test_users.py:test_create_user"]
    assert S.app_frames(PYTEST_RUNNER) == ["test_cart.py:test_total"]


def test_frames_are_capped_and_line_numbers_ignored() -> None:
    deep = "\n".join(f'  File "/app/shop/m{n}.py", line {n}, in f{n}' for n in range(10))
    assert S.app_frames(deep) == ["m9.py:f<n>", "m8.py:f<n>", "m7.py:f<n>"]
    moved = PYTEST_SHORT.replace("client.py:13", "client.py:99").replace("test_shop.py:6", "test_shop.py:60")
    assert S.app_frames(moved) == S.app_frames(PYTEST_SHORT)


# ---------------------------------------------------------------------------- Java

JAVA_NPE = """java.lang.NullPointerException: Cannot invoke "java.lang.Integer.intValue()" because the return value of "java.util.Map.get(Object)" is null
\tat com.acme.shop.Main$OrderService.reserve(Main.java:7)
\tat com.acme.shop.Main.testReserve(Main.java:11)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:77)
\tat java.base/jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)
\tat java.base/java.lang.reflect.Method.invoke(Method.java:569)
\tat org.junit.platform.commons.util.ReflectionUtils.invokeMethod(ReflectionUtils.java:728)
\tat org.junit.jupiter.engine.execution.MethodInvocation.proceed(MethodInvocation.java:60)
\tat org.apache.maven.surefire.booter.ForkedBooter.main(ForkedBooter.java:495)"""

JAVA_STREAM = """java.lang.NumberFormatException: For input string: "EUR 3"
\tat java.base/jdk.internal.math.FloatingDecimal.readJavaFormatString(FloatingDecimal.java:2054)
\tat java.base/java.lang.Double.parseDouble(Double.java:651)
\tat java.base/java.util.stream.ReferencePipeline$6$1.accept(ReferencePipeline.java:248)
\tat java.base/java.util.stream.DoublePipeline.sum(DoublePipeline.java:450)
\tat com.acme.shop.PriceParser.lambda$parse$0(PriceParser.java:8)
\tat com.acme.shop.PriceParser.parse(PriceParser.java:12)
\tat com.acme.shop.PriceParserTest.parsesEuros(PriceParserTest.java:19)
\tat sun.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
\tat junit.framework.TestCase.runTest(TestCase.java:176)
\tat org.testng.internal.MethodInvocationHelper.invokeMethod(MethodInvocationHelper.java:135)
Caused by: java.lang.IllegalStateException: boom
\t... 23 more"""

JUNIT4_ASSERT = """java.lang.AssertionError: discounted total expected:<13.0> but was:<13.5>
\tat org.junit.Assert.fail(Assert.java:89)
\tat org.junit.Assert.failNotEquals(Assert.java:835)
\tat org.junit.Assert.assertEquals(Assert.java:555)
\tat shop.CartTest.appliesADiscount(CartTest.java:23)"""

KOTLIN = """org.opentest4j.AssertionFailedError: expected: <PAID> but was: <PENDING>
\tat app//org.junit.jupiter.api.AssertionUtils.fail(AssertionUtils.java:55)
\tat app//com.acme.shop.PaymentTest.pays(PaymentTest.kt:31)
\tat kotlin.coroutines.jvm.internal.BaseContinuationImpl.resumeWith(ContinuationImpl.kt:33)"""


def test_java_frames() -> None:
    assert S.app_frames(JAVA_NPE) == ["com.acme.shop.Main$OrderService.reserve", "com.acme.shop.Main.testReserve"]
    assert S.app_frames(JAVA_STREAM) == [
        "com.acme.shop.PriceParser.lambda$parse$<n>",
        "com.acme.shop.PriceParser.parse",
        "com.acme.shop.PriceParserTest.parsesEuros",
    ]
    assert S.app_frames(JUNIT4_ASSERT) == ["shop.CartTest.appliesADiscount"]
    assert S.app_frames(KOTLIN) == ["com.acme.shop.PaymentTest.pays"]


def test_java_assertion_values_are_masked() -> None:
    one = compute("java.lang.AssertionError", "discounted total expected:<13.0> but was:<13.5>", JUNIT4_ASSERT)
    two = compute("AssertionError", "discounted total expected:<13.0> but was:<14.0>", JUNIT4_ASSERT)
    assert one.digest == two.digest
    assert one.template == (
        "AssertionError\ndiscounted total expected:<value> but was:<value>\nat shop.CartTest.appliesADiscount"
    )


# ---------------------------------------------------------------------------- JavaScript

JEST = """Error: expect(received).toBe(expected) // Object.is equality

Expected: 13
Received: 13.5
    at Object.toBe (/work/main/tests/data/sources/junit/jest/__tests__/cart.test.js:15:33)
    at Promise.finally.completed (/work/shop/node_modules/jest-circus/build/jestAdapterInit.js:1834:28)
    at new Promise (<anonymous>)
    at callAsyncCircusFn (/work/shop/node_modules/jest-circus/build/jestAdapterInit.js:1774:10)
    at runTest (/work/shop/node_modules/jest-runner/build/index.js:315:7)"""

NODE = """TypeError: Cannot read properties of null (reading 'amount')
    at /tmp/capture/node/app.js:4:60
    at Array.reduce (<anonymous>)
    at Cart.total (/tmp/capture/node/app.js:4:31)
    at async Promise.all (index 0)
    at async runTest (file:///srv/app/test/run.mjs:12:3)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"""

MOCHA = """AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:

13.5 !== 13

    at Context.<anonymous> (test/cart.spec.js:17:12)
    at process.processImmediate (node:internal/timers:483:21)"""

PLAYWRIGHT = """
  cart.spec.js:16:3 › cart › applies a discount ─────────────

    Error: expect(received).toBe(expected) // Object.is equality

    > 18 |       expect(total([10, 5], 0.1)).toBe(13);
         |                                   ^
        at /work/shop/tests/cart.spec.js:18:35
        at /work/shop/tests/cart.spec.js:17:5
        at /work/shop/node_modules/@playwright/test/lib/worker/workerMain.js:340:12"""

VITEST = """
AssertionError: expected 13.5 to be 13 // Object.is equality

- Expected
+ Received

 \u276f test/cart.test.js:15:33
"""

FIREFOX = """total@http://localhost:5173/src/cart.js?t=1700000000:12:9
@http://localhost:5173/src/main.js:3:1"""


def test_javascript_frames() -> None:
    assert S.app_frames(JEST) == ["cart.test.js:Object.toBe"]
    assert S.app_frames(NODE) == ["app.js", "app.js:Cart.total", "run.mjs:runTest"][: S.SIGNATURE_FRAMES]
    assert S.app_frames(MOCHA) == ["cart.spec.js:Context.<anonymous>"]
    assert S.app_frames(PLAYWRIGHT) == ["cart.spec.js"]
    assert S.app_frames(VITEST) == ["cart.test.js"]
    assert S.app_frames(FIREFOX) == ["cart.js:total", "main.js"]


def test_node_internal_only_traces_keep_the_message() -> None:
    trace = "Error: connect ECONNREFUSED 127.0.0.1:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)"
    sig = compute("Error", "connect ECONNREFUSED 127.0.0.1:5432", trace)
    assert sig.frames == () and sig.message == "connect ECONNREFUSED <host>"


# ---------------------------------------------------------------------------- Go

GO_PANIC = """--- FAIL: TestPanicIndex (0.00s)
panic: runtime error: index out of range [2] with length 1 [recovered]
\tpanic: runtime error: index out of range [2] with length 1

goroutine 13 [running]:
testing.tRunner.func1.2({0x51cba0, 0xc000018198})
\t/usr/lib/go-1.19/src/testing/testing.go:1396 +0x24e
testing.tRunner.func1()
\t/usr/lib/go-1.19/src/testing/testing.go:1399 +0x39f
panic({0x51cba0, 0xc000018198})
\t/usr/lib/go-1.19/src/runtime/panic.go:884 +0x212
example.com/shop/cart.(*basket).third(...)
\t/tmp/capture/go/cart/cart_test.go:78
example.com/shop/cart.TestPanicIndex(0xc000118680?)
\t/tmp/capture/go/cart/cart_test.go:82 +0x1d
testing.tRunner(0xc0001189c0, 0x5336a8)
\t/usr/lib/go-1.19/src/testing/testing.go:1446 +0x10b
created by testing.(*T).Run
\t/usr/lib/go-1.19/src/testing/testing.go:1493 +0x35f"""

GO_ERRORF = """=== RUN   TestDiscount
    cart_test.go:20: Total() with 10% discount = 13.5, want 13
--- FAIL: TestDiscount (0.00s)"""

GO_TESTIFY = """    orders_test.go:41: 
        \tError Trace:\t/src/shop/orders/orders_test.go:41
        \tError:      \tNot equal: 
        \t            \texpected: "paid"
        \t            \tactual  : "pending"
        \tTest:       \tTestPayOrder"""

GO_MODULE_CACHE = """example.com/shop/db.Open(...)
\t/home/ci/go/pkg/mod/github.com/lib/pq@v1.10.9/conn.go:312 +0x1d
example.com/shop/store.Connect()
\t/src/shop/store/store.go:14 +0x45"""


def test_go_frames() -> None:
    assert S.app_frames(GO_PANIC) == ["cart.(*basket).third", "cart.TestPanicIndex"]
    assert S.app_frames(GO_ERRORF) == ["cart_test.go"]
    assert S.app_frames(GO_TESTIFY) == ["orders_test.go"]
    assert S.app_frames(GO_MODULE_CACHE) == ["store.Connect"]
    sig = compute(None, "panic: runtime error: index out of range [2] with length 1 [recovered]", GO_PANIC)
    assert sig.template == (
        "panic\nruntime error: index out of range [<n>] with length <n> [recovered]\n"
        "at cart.(*basket).third\nat cart.TestPanicIndex"
    )


# ---------------------------------------------------------------------------- .NET

DOTNET = """   at System.ThrowHelper.ThrowKeyNotFoundException[T](T key)
   at System.Collections.Generic.Dictionary`2.get_Item(TKey key)
   at Shop.Inventory.Stock.Get(String sku) in C:\\agent\\_work\\1\\s\\Shop\\Inventory\\Stock.cs:line 42
   at Shop.Tests.StockTests.ReadsStock() in C:\\agent\\_work\\1\\s\\Shop.Tests\\StockTests.cs:line 17
   at System.RuntimeMethodHandle.InvokeMethod(Object target, Void** arguments, Signature sig, Boolean isConstructor)
   at NUnit.Framework.Internal.Reflect.InvokeMethod(MethodInfo method, Object fixture, Object[] args)"""

DOTNET_ASYNC = """   at System.Net.Http.HttpConnectionPool.ConnectToTcpHostAsync(String host, Int32 port, HttpRequestMessage initialRequest, Boolean async, CancellationToken cancellationToken)
   at Shop.Api.CatalogClient.<GetProductAsync>d__4.MoveNext() in /src/Shop.Api/CatalogClient.cs:line 31
--- End of stack trace from previous location ---
   at Shop.Tests.CatalogTests.LoadsProduct() in /src/Shop.Tests/CatalogTests.cs:line 22
   at Xunit.Sdk.TestInvoker`1.<>c__DisplayClass48_0.<<InvokeTestMethodAsync>b__1>d.MoveNext()
   at Microsoft.VisualStudio.TestPlatform.MSTestAdapter.PlatformServices.ThreadOperations.ExecuteWithAbortSafety(Action action)"""

DOTNET_NO_PDB = """   at Shop.Orders.OrderService.Reserve(String sku, Int32 quantity)
   at Shop.Tests.OrderServiceTests.ReservesStock()"""


def test_dotnet_frames() -> None:
    assert S.app_frames(DOTNET) == ["Shop.Inventory.Stock.Get", "Shop.Tests.StockTests.ReadsStock"]
    assert S.app_frames(DOTNET_ASYNC) == [
        "Shop.Api.CatalogClient.<GetProductAsync>d__<n>.MoveNext",
        "Shop.Tests.CatalogTests.LoadsProduct",
    ]
    assert S.app_frames(DOTNET_NO_PDB) == [
        "Shop.Orders.OrderService.Reserve",
        "Shop.Tests.OrderServiceTests.ReservesStock",
    ]
    nunit = compute("NUnit.Framework.AssertionException", "  Expected: 13m\n  But was:  13.5m\n", DOTNET)
    assert nunit.exception == "AssertionException" and nunit.message == "Expected: <n>m | But was: <n>m"


# ---------------------------------------------------------------------------- templates and grouping


def test_template_round_trips() -> None:
    sig = compute("ConnectionError", "could not connect to 10.0.0.1:1", PYTEST_SHORT)
    assert S.parse_template(sig.template) == sig
    empty = compute(None, None, None)
    assert empty.template == "-\n-" and S.parse_template(empty.template) == empty


def test_similarity() -> None:
    assert S.similarity("a b c", "a b c") == 1.0
    assert S.similarity("", "x") == 0.0
    near = S.similarity(
        "timed out waiting for #pay-button to be visible", "timed out waiting for #pay-btn to be visible"
    )
    far = S.similarity("timed out waiting for #pay-button to be visible", "socket closed")
    assert near > 0.8 > far


def test_grouping_merges_near_duplicates_only_at_the_same_top_frame() -> None:
    a = compute("TimeoutError", "waiting for #pay-button to be visible in the page", "t.py:1: in test_pay")
    b = compute("TimeoutError", "waiting for #pay-btn to be visible in the page", "t.py:9: in test_pay")
    c = compute("TimeoutError", "waiting for #pay-button to be visible in the page", "t.py:1: in test_refund")
    d = compute("OSError", "waiting for #pay-button to be visible in the page", "t.py:1: in test_pay")
    assert group([a, b, c, d, a]) == [0, 0, 1, 2, 0]


def test_huge_traces_are_read_head_and_tail() -> None:
    noise = "\n".join(f"    log line {n}" for n in range(20_000))
    trace = f'Traceback (most recent call last):\n{noise}\n  File "/app/shop/x.py", line 3, in deep\nValueError'
    assert S.app_frames(trace) == ["x.py:deep"]
