"""One end-to-end journey: the people in it (each a browser context of their own), and its steps.

Every step saves a numbered screenshot, tests/artifacts/<journey>/NN-<step>.png, and runs the axe-core
check on the page as the user sees it at that moment (conftest.check_accessibility, `as_shown`).
Every page any of the journey's people lands on is recorded; `finish()` fails the test if one of them
was never checked, so "axe on every page the journey visits" is enforced, not hoped for.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from tests.browser.conftest import check_accessibility, sign_in


class Journey:
    def __init__(self, browser, live_server: str, name: str):
        self.browser, self.base, self.name = browser, live_server, name
        self.number = 0
        self.visited: dict[str, str] = {}   # path -> first full URL seen
        self.checked: set[str] = set()
        self.contexts = []
        self.csp_violations: list[str] = []
        self.server_errors: list[str] = []

    def person(self, email: str, **context_options):
        """A new browser context for one person, signed in through the login form."""
        context = self.browser.new_context(**context_options)
        self.contexts.append(context)
        page = context.new_page()
        page.on("framenavigated", lambda frame: self._landed(page, frame))
        page.on("console", lambda msg: self.csp_violations.append(msg.text)
                if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text else None)
        page.on("response", lambda response: self.server_errors.append(f"{response.status} {response.url}")
                if response.status >= 500 else None)
        page.goto(self.base + "/login")
        if "/login" not in self.checked:
            self.step(page, "sign-in")
        sign_in(page, self.base, email)
        assert urlsplit(page.url).path != "/login", f"{email} could not sign in"
        if urlsplit(page.url).path not in self.checked:
            self.step(page, "signed-in")
        return page

    def _landed(self, page, frame) -> None:
        if frame == page.main_frame and frame.url.startswith(self.base):
            self.visited.setdefault(urlsplit(frame.url).path, frame.url)

    def step(self, page, name: str) -> None:
        """Screenshot this step and check the page as shown for accessibility."""
        self.number += 1
        check_accessibility(self.browser, page, f"{self.name}/{self.number:02d}-{name}", as_shown=True)
        self.checked.add(urlsplit(page.url).path)

    def go(self, page, locator) -> None:
        """Click a link or button that loads a new page, and wait for that page."""
        with page.expect_navigation():
            locator.click()

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts = []

    def finish(self) -> None:
        """Close everyone's context; every page visited was checked, none broke the CSP, none was a 5xx."""
        self.close()
        unchecked = sorted(set(self.visited) - self.checked)
        assert not unchecked, f"pages of the {self.name} journey never checked by axe: {unchecked}"
        assert not self.csp_violations, f"CSP violations: {self.csp_violations}"
        assert not self.server_errors, f"server errors: {self.server_errors}"
