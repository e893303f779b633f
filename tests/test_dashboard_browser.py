"""The dashboard in a real browser: `kratom-evidence dashboard` serves the demo database on
127.0.0.1 and Playwright drives Debian's Chromium through it (change a filter, see the table
change, follow the filters from page to page) and saves screenshots.

Needs /usr/bin/chromium (Debian: apt-get install chromium; .ci/run installs it) and the
playwright package (the dev extra). Without them the test is skipped with the reason, unless
KRATOM_REQUIRE_BROWSER is set (CI), where it fails instead.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ingest import query, store
from ingest.query import Filters

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", ROOT / "tests" / "artifacts"))


def missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    reason = missing()
    if reason:
        if os.environ.get("KRATOM_REQUIRE_BROWSER"):
            pytest.fail(f"the browser test must run here: {reason}")
        pytest.skip(reason)
    path = tmp_path_factory.mktemp("browser") / "demo.db"
    subprocess.run([sys.executable, "-m", "ingest", "demo", "--db", str(path)], check=True, capture_output=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo, tmp_path_factory):
    """The real command, as a newcomer runs it; stopped (by its own process) afterwards."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "dashboard.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "ingest", "dashboard", "--db", str(demo), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path_factory.mktemp("cwd"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the dashboard did not start:\n{log.read_text()}")
        time.sleep(0.3)
    yield url, log
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_filter_changes_the_table_and_follows_the_reader(server, demo):
    from playwright.sync_api import expect, sync_playwright

    url, log = server
    with store.connect(demo, readonly=True) as db:
        everything = query.count_records(db)
        trials = query.count_records(db, Filters(designs=("randomized_trial",)))
    assert 0 < trials < everything
    SHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        elsewhere: list[str] = []
        page.on("request", lambda r: None if r.url.startswith(url) or r.url.startswith("data:")
                else elsewhere.append(r.url))

        page.goto(url, wait_until="networkidle")
        expect(page.get_by_text("The kratom evidence base at a glance")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Synthetic demo data.")).to_be_visible()
        expect(page.locator('[data-testid="stVegaLiteChart"]')).to_have_count(3, timeout=30_000)
        page.set_viewport_size({"width": 1400, "height": 1500})  # the whole overview, for the README
        page.wait_for_timeout(1500)  # let the charts finish drawing
        page.screenshot(path=str(SHOTS / "dashboard-overview.png"))
        page.set_viewport_size({"width": 1400, "height": 1000})

        page.get_by_role("link", name="Browse records").click()
        count = page.get_by_text(re.compile(r"^\d[\d,]* records: "))
        expect(count).to_contain_text(f"{everything:,} records", timeout=30_000)
        table = page.locator('[data-testid="stDataFrame"]').first
        expect(table).to_be_visible()
        page.wait_for_timeout(500)
        before = table.screenshot()

        page.locator('[data-testid="stMultiSelect"]').filter(has_text="Study designs").click()
        page.get_by_role("option", name="Randomized trial", exact=True).click()
        page.keyboard.press("Escape")
        expect(count).to_contain_text(f"{trials:,} records: Randomized trial", timeout=30_000)
        expect(page.get_by_text(f"Records 1–{trials} of {trials}.")).to_be_visible()
        page.wait_for_timeout(500)
        assert table.screenshot() != before, "the table looks the same after the filter changed"
        assert "designs=randomized_trial" in page.url  # the view can be shared and bookmarked

        # A click on a row opens its record, and the record's address can be shared too.
        box = table.bounding_box()
        page.mouse.click(box["x"] + 15, box["y"] + 35 + 17)  # the first row's selection cell
        expect(page.get_by_role("button", name="Close the record")).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Study design: Randomized trial")).to_be_visible()
        assert re.search(r"record=\d+", page.evaluate("location.href"))
        page.screenshot(path=str(SHOTS / "dashboard-browse.png"))

        # The filter follows the reader to another page...
        page.get_by_role("link", name="Overview").click()
        records = page.locator('[data-testid="stMetric"]').filter(has_text="Records").first
        expect(records).to_contain_text(str(trials), timeout=30_000)
        # ...and a bookmarked URL opens the same view in a fresh tab.
        fresh = browser.new_page()
        fresh.goto(f"{url}/browse?designs=randomized_trial", wait_until="networkidle")
        expect(fresh.get_by_text(re.compile(r"^\d[\d,]* records: "))).to_contain_text(
            f"{trials:,} records", timeout=30_000)
        browser.close()

    assert elsewhere == [], f"the page asked another host for: {elsewhere}"
    assert "127.0.0.1" in log.read_text()  # it says where it listens
