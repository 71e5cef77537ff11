"""``caserun serve --demo`` as ``make run`` starts it: prints the URL and a one-time sign-in
link, and the demo project is there to click through."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_first_start_prints_url_and_one_time_login_with_demo_data(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASERUN_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "caserun", "serve", "--demo", "--port", str(port), "--data-dir", str(tmp_path)],
        env={**env, "COLUMNS": "200"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("/login/" in line for line in lines):
            lines.append(server.stdout.readline())
        output = "".join(lines)
        assert f"caserun is running at http://127.0.0.1:{port}" in output
        login = re.search(r"(http://127\.0\.0\.1:\d+/login/\S+)", output)
        assert login, output
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(follow_redirects=True, timeout=10) as browser:
            home = browser.get(login.group(1))
            assert home.status_code == 200
            assert "demo" in home.text.lower()
            again = httpx.get(login.group(1), timeout=10)  # a one-time link works once
            assert again.status_code in (302, 303, 401, 403) or "expired" in again.text or "used" in again.text
            launches = browser.get(f"http://127.0.0.1:{port}/projects/demo")
            assert launches.status_code == 200 and "CI #1" in launches.text
    finally:
        server.terminate()
        server.wait(20)
        if server.stdout:
            server.stdout.close()
    # a second start finds the admin token and prints no new sign-in link
    second = subprocess.run(
        [
            sys.executable,
            "-c",
            "from caserun.service import auth; from caserun.store.engine import Database; "
            f"print(auth.bootstrap(Database.from_url('sqlite:///{tmp_path}/caserun.db')))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert second.stdout.strip() == "None"
