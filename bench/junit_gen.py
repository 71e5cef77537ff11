"""Generate a large JUnit XML file: N test cases, 10% failing with ~2 KB stack traces,
system-out on some. ``python bench/junit_gen.py OUT.xml [N]``."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

FRAME = "\tat com.acme.shop.checkout.CartService.total(CartService.java:{n})\n"


def generate(path: Path, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        per_suite = 100
        for suite in range(0, count, per_suite):
            out.write(f'<testsuite name="com.acme.Suite{suite // per_suite}" tests="{per_suite}">\n')
            for i in range(suite, min(suite + per_suite, count)):
                name = f"test_case_{i}"
                cls = f"com.acme.shop.Module{i % 500}Test"
                time = rng.uniform(0.001, 2.0)
                out.write(f'  <testcase classname="{cls}" name="{name}" time="{time:.3f}"')
                if i % 10 == 3:
                    trace = "java.lang.AssertionError: expected:<42> but was:<41>\n" + "".join(
                        FRAME.format(n=rng.randint(1, 900)) for _ in range(28)
                    )
                    message = quoteattr(f"expected:<42> but was:<{rng.randint(0, 99)}>")
                    out.write(f'>\n    <failure message={message} type="java.lang.AssertionError">')
                    out.write(escape(trace))
                    out.write("</failure>\n")
                    if i % 20 == 3:
                        out.write(f"    <system-out>{escape('log line ' * 20)}</system-out>\n")
                    out.write("  </testcase>\n")
                else:
                    out.write("/>\n")
            out.write("</testsuite>\n")
        out.write("</testsuites>\n")


if __name__ == "__main__":
    generate(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
