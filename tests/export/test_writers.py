"""The pure writers: CSV formula neutralising, Markdown escaping, the report's image cap."""

from __future__ import annotations

from datetime import UTC, datetime

from caserun.domain.rules import Summary
from caserun.export import tabular
from caserun.export.html_report import render_report
from caserun.export.markdown import escape, summary_markdown
from caserun.export.model import AttemptOut, Digest, FailureOut, ImageOut, LaunchFacts, TestOut


def _launch(name: str = "Nightly") -> LaunchFacts:
    moment = datetime(2025, 1, 2, 3, 4, tzinfo=UTC)
    summary = Summary(total=2, passed=1, failed=1, duration_ms=1500)
    return LaunchFacts(
        1, "web", name, "completed", None, None, None, None, moment, moment, summary, "http://x/launches/1"
    )


def test_safe_cells() -> None:
    assert [tabular.safe_cell(v) for v in ("=1+1", "+1", "-x", "@a", "\tx", "plain", -3, 2.5, None, True)] == [
        "'=1+1",
        "'+1",
        "'-x",
        "'@a",
        "'\tx",
        "plain",
        "-3",
        "2.5",
        "",
        "true",
    ]


def test_markdown_escapes_report_text() -> None:
    assert escape("a|b *c* <script> @team [x](y)\nnext") == (
        "a\\|b \\*c\\* &lt;script&gt; &#64;team \\[x\\]\\(y\\) next"
    )
    text = summary_markdown(Digest(launch=_launch("Release <b>|</b> @ops")))
    assert text.splitlines()[0] == "### ❌ Release &lt;b&gt;\\|&lt;/b&gt; &#64;ops \\#1"
    assert "<b>" not in text and "@ops" not in text


def test_the_report_escapes_text_and_embeds_only_what_fits() -> None:
    attempt = AttemptOut(1, "failed", 10, _launch().started_at, failure_message="<img src=x onerror=alert(1)>")
    test = TestOut("s", "t", "", "s.t", None, None, attempts=[attempt])
    images = [
        ImageOut("small.png", "image/png", 10, "data:image/png;base64,AAAA"),
        ImageOut("big.png", "image/png", 9_000_000, None),
    ]
    html = render_report(Digest(launch=_launch(), failures=[FailureOut(test, "http://x/case-runs/1", images)]))
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert 'src="data:image/png;base64,AAAA"' in html
    assert "Screenshot big.png left out (9000000 bytes" in html
    assert 'src="http' not in html and "<link" not in html and "url(" not in html  # nothing loaded from elsewhere
    assert "<script" not in html
