"""Saved selections: named criteria a maintainer keeps, and manual launches made from them."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import post_report

REPORT = """<testsuite name="shop">
<testcase classname="shop.Checkout" name="test_pay"/>
<testcase classname="shop.Checkout" name="test_refund"/>
<testcase classname="shop.Search" name="test_find"/>
</testsuite>"""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_saved_selection_makes_a_manual_launch(client: TestClient, tokens: dict[str, str], tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    report.write_text(REPORT)
    post_report(client, report)
    maint = bearer(tokens["maintainer"])
    saved = client.put("/api/v1/projects/web/selections/checkout", json={"q": "Checkout"}, headers=maint)
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"name": "checkout", "tag": None, "suite": None, "q": "Checkout", "test_ids": None}
    assert [s["name"] for s in client.get("/api/v1/projects/web/selections").json()] == ["checkout"]

    launch = client.post("/api/v1/projects/web/manual-launches", json={"selection": "checkout"}, headers=maint)
    assert launch.status_code == 201, launch.text
    names = sorted(r["full_name"] for r in launch.json()["case_runs"])
    assert names == ["shop.Checkout.test_pay", "shop.Checkout.test_refund"]

    # criteria and a selection together, an unknown selection, a bad name, an empty one
    both = {"selection": "checkout", "tag": "smoke"}
    assert client.post("/api/v1/projects/web/manual-launches", json=both, headers=maint).status_code == 422
    unknown = {"selection": "nope"}
    assert client.post("/api/v1/projects/web/manual-launches", json=unknown, headers=maint).status_code == 404
    assert client.put("/api/v1/projects/web/selections/-bad", json={"q": "x"}, headers=maint).status_code == 422
    assert client.put("/api/v1/projects/web/selections/empty", json={}, headers=maint).status_code == 422
    missing_ids = {"test_ids": [999_999]}
    assert client.put("/api/v1/projects/web/selections/ids", json=missing_ids, headers=maint).status_code == 404

    # a reporter may read but not change them; another project's token sees nothing
    reporter = bearer(tokens["reporter"])
    assert client.put("/api/v1/projects/web/selections/x", json={"q": "a"}, headers=reporter).status_code == 403
    assert client.delete("/api/v1/projects/web/selections/checkout", headers=reporter).status_code == 403
    assert client.delete("/api/v1/projects/web/selections/checkout", headers=maint).status_code == 204
    assert client.get("/api/v1/projects/web/selections").json() == []
    assert client.delete("/api/v1/projects/web/selections/checkout", headers=maint).status_code == 404
