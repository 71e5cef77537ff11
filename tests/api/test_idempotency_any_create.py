"""Every create request takes an Idempotency-Key, not only imports and launches: a defect,
a share link, a token, a webhook or a manual launch sent twice exists once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient


def maintainer(tokens: dict[str, str], key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {tokens['maintainer']}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def defects(client: TestClient) -> list[dict[str, object]]:
    return client.get("/api/v1/projects/web/defects").json()["items"]  # type: ignore[no-any-return]


def test_a_retried_create_returns_the_first_answer(client: TestClient, tokens: dict[str, str]) -> None:
    url = "/api/v1/projects/web/defects"
    first = client.post(url, json={"title": "Cart total wrong"}, headers=maintainer(tokens, "defect-1"))
    assert first.status_code == 201, first.text
    again = client.post(url, json={"title": "Cart total wrong"}, headers=maintainer(tokens, "defect-1"))
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert len(defects(client)) == 1
    # without a key, the same body is a second defect
    assert client.post(url, json={"title": "Cart total wrong"}, headers=maintainer(tokens)).status_code == 201
    assert len(defects(client)) == 2


def test_a_key_reused_for_another_request_is_refused(client: TestClient, tokens: dict[str, str]) -> None:
    url = "/api/v1/projects/web/defects"
    assert client.post(url, json={"title": "A"}, headers=maintainer(tokens, "k")).status_code == 201
    other = client.post(url, json={"title": "B"}, headers=maintainer(tokens, "k"))
    assert other.status_code == 409 and "different request" in other.json()["error"]["message"]
    assert [d["title"] for d in defects(client)] == ["A"]


def test_a_refused_request_releases_its_key(client: TestClient, tokens: dict[str, str]) -> None:
    url = "/api/v1/projects/web/defects"
    bad = client.post(url, json={"title": ""}, headers=maintainer(tokens, "fix-me"))
    assert bad.status_code == 422
    fixed = client.post(url, json={"title": ""}, headers=maintainer(tokens, "fix-me"))
    assert fixed.status_code == 422  # the same bad request is answered afresh, not replayed
    assert "idempotent-replayed" not in fixed.headers
    assert client.post(url, json={"title": "Good"}, headers=maintainer(tokens, "fix-me")).status_code == 201


def test_keys_belong_to_their_caller(client: TestClient, tokens: dict[str, str]) -> None:
    url = "/api/v1/projects/web/defects"
    assert client.post(url, json={"title": "A"}, headers=maintainer(tokens, "shared")).status_code == 201
    admin = {"Authorization": f"Bearer {tokens['admin']}", "Idempotency-Key": "shared"}
    assert client.post(url, json={"title": "A"}, headers=admin).status_code == 201
    assert len(defects(client)) == 2


def test_concurrent_retries_create_one_defect(client: TestClient, tokens: dict[str, str]) -> None:
    url = "/api/v1/projects/web/defects"

    def send(_: int) -> int:
        return client.post(url, json={"title": "Race"}, headers=maintainer(tokens, "race")).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(send, range(4)))
    assert set(codes) <= {201, 409} and 201 in codes
    assert len(defects(client)) == 1


def test_bad_keys_and_routes_with_their_own_keys(client: TestClient, tokens: dict[str, str]) -> None:
    long_key = maintainer(tokens, "x" * 129)
    assert client.post("/api/v1/projects/web/defects", json={"title": "A"}, headers=long_key).status_code == 422
    # launches keep their key on the launch row: the retry is answered from there
    created = client.post("/api/v1/projects/web/launches", json={}, headers=maintainer(tokens, "launch-key"))
    again = client.post("/api/v1/projects/web/launches", json={}, headers=maintainer(tokens, "launch-key"))
    assert created.status_code == 201 and again.json()["id"] == created.json()["id"]
    assert "idempotent-replayed" not in again.headers
