"""Browser tests: Playwright for Python driving Debian's Chromium (never `playwright install`)
against a live server in a subprocess. Every page runs with the real CSP and a CSP violation fails the
test; the axe-core check runs in its own context with `bypass_csp=True` (axe is injected inline).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from network.demo import DEMO_PASSWORD

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not os.path.exists(CHROMIUM):
        # a failure, never a skip: the browser tests would otherwise prove nothing unnoticed
        pytest.fail(f"Debian's Chromium is not installed at {CHROMIUM} (`make chromium` installs it; make test "
                    "does)", pytrace=False)
    return {"executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_paths(tmp_path_factory) -> dict[str, Path]:
    """The live server's database, and the file its clock follows (write an ISO date to move time,
    empty it to return to the real date; see network/clock.py)."""
    folder = tmp_path_factory.mktemp("live")
    return {"db": folder / "live.db", "clock": folder / "today.txt"}


@pytest.fixture(scope="session")
def live_server(live_paths):
    port = _free_port()
    db_path = live_paths["db"]
    log = open(db_path.with_suffix(".log"), "w")
    process = subprocess.Popen([sys.executable, "-m", "tests.live_server", str(port), str(db_path)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**os.environ, "CARECOMMONS_TEST_CLOCK_FILE": str(live_paths["clock"])})
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"live server exited: {db_path.with_suffix('.log').read_text()[-3000:]}")
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("live server did not start in 60 s")
    yield base
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture
def csp_violations(page):
    """Console messages that report a Content-Security-Policy violation; asserted empty after each test."""
    violations: list[str] = []
    page.on("console", lambda msg: violations.append(msg.text)
            if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text else None)
    yield violations
    assert not violations, f"CSP violations: {violations}"


def sign_in(page, base: str, email: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def check_accessibility(browser, page, name: str, as_shown: bool = False) -> None:
    """Open the page's URL with the same cookies in a CSP-bypassing context and run axe-core:
    no serious or critical violation. Saves a screenshot under tests/artifacts/ (`name` may hold a
    folder, e.g. "journey/01-step"). With `as_shown`, axe checks the page as it is on screen (its current
    DOM without scripts, served at the same URL): a form re-shown with errors after a POST, or a live
    room's state, rather than a fresh GET of the URL."""
    screenshot = ARTIFACTS / f"{name}.png"
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)
    context = browser.new_context(bypass_csp=True, viewport=page.viewport_size)
    context.add_cookies(page.context.cookies())
    axe_page = context.new_page()
    if as_shown:
        url = page.url.split("#")[0]
        html = page.evaluate("""() => {
            const root = document.documentElement.cloneNode(true);
            root.querySelectorAll('script').forEach(s => s.remove());
            return '<!DOCTYPE html>' + root.outerHTML;
        }""")
        axe_page.route(lambda u: u.split("#")[0] == url,
                       lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html))
    axe_page.goto(page.url)
    axe_page.add_script_tag(path=str(AXE))
    result = axe_page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    context.close()
    serious = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not serious, f"accessibility violations on {name}: {serious}"


@pytest.fixture
def journey(browser, live_server):
    """Start an end-to-end journey by name (tests/browser/journey.py); its people's contexts are closed
    at the end whatever happened. The test calls `finish()` for the journey's own checks."""
    from tests.browser.journey import Journey

    started: list[Journey] = []

    def start(name: str) -> Journey:
        started.append(Journey(browser, live_server, name))
        return started[-1]
    yield start
    for item in started:
        item.close()
