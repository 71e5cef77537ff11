import os
import pathlib

import pytest

ASSETS = pathlib.Path(__file__).resolve().parent.parent / "assets"


@pytest.fixture
def flaky_counter():
    """Count attempts of a test in a file under $FLAKY_DIR (a fresh temp dir per run).

    Returns the attempt number, 1 on the first run and 2 on the rerun, so the
    flaky test fails first and passes on retry, deterministically.
    """

    def bump(name: str) -> int:
        directory = os.environ.get("FLAKY_DIR")
        if not directory:
            raise RuntimeError("set FLAKY_DIR to an empty temporary directory")
        path = pathlib.Path(directory) / f"pytest-{name}.count"
        n = int(path.read_text()) + 1 if path.exists() else 1
        path.write_text(str(n))
        return n

    return bump


@pytest.fixture
def inventory_db():
    raise ConnectionError("inventory database unreachable at 127.0.0.1:5999")


@pytest.fixture
def screenshot_path() -> pathlib.Path:
    return ASSETS / "screenshot.png"
