"""Page-level helpers that drive real forms through the test client."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import csrf_token

RECEIPT = re.compile(r'class="receipt-code"[^>]*>([0-9A-Z-]+)<')
CONTINUE_LINK = re.compile(r'<a href="([^"]+)" class="button"')
Answers = dict[str, str | list[str]]


def location(response: TestResponse) -> str:
    """A redirect's target as a path (the test client gives absolute or relative URLs)."""
    return response.headers["Location"].replace("http://localhost", "")


class ServiceUser:
    """A person giving feedback, through the same forms a browser would post."""

    def __init__(self, client: FlaskClient, service: str = "victim-support") -> None:
        self.client = client
        self.service = service
        self.base = f"/feedback/{service}"

    # --- pages -------------------------------------------------------------

    def page(self, path: str) -> str:
        # Through the doors (intake/arrival.py): the service's address redirects to its consent page.
        return self.client.get(path, follow_redirects=True).get_data(as_text=True)

    def post(self, path: str, data: dict[str, object], page: str | None = None) -> TestResponse:
        """POST a form on ``path`` with the CSRF token from that page (fetched unless given)."""
        html = page if page is not None else self.page(path.split("?")[0] if "?" not in path else path)
        return self.client.post(path, data={**data, "csrf_token": csrf_token(html)})

    # --- the journey -------------------------------------------------------

    def consent(self, *choices: str) -> TestResponse:
        page = self.page(self.base)
        data: dict[str, object] = {f"choice_{c}": "y" for c in choices}
        return self.post(f"{self.base}/consent", data, page)

    def answer_question(self, question_id: str, value: str | list[str] | None, action: str = "continue",
                        change: bool = False) -> TestResponse:
        path = f"{self.base}/q/{question_id}" + ("?change=1" if change else "")
        data: dict[str, object] = {"action": action}
        if value is not None:
            data["answer"] = value
        return self.post(path, data)

    def skip(self, question_id: str) -> TestResponse:
        return self.answer_question(question_id, None, action="skip")

    def back(self, question_id: str, value: str | list[str] | None = None) -> TestResponse:
        return self.answer_question(question_id, value, action="back")

    def section(self, section_id: str, action: str = "continue") -> TestResponse:
        return self.post(f"{self.base}/section/{section_id}", {"action": action})

    def check_answers(self) -> TestResponse:
        return self.client.get(f"{self.base}/check")

    def send(self) -> TestResponse:
        return self.post(f"{self.base}/send", {}, self.page(f"{self.base}/check"))

    def keep_resume_code(self) -> str:
        response = self.post(f"{self.base}/save", {"action": "code"})
        match = RECEIPT.search(response.get_data(as_text=True))
        assert match, f"no resume code in the response ({response.status_code})"
        return match.group(1)

    def resume(self, code: str) -> TestResponse:
        self.page(self.base)  # in through the service's address, whose consent page links to this form
        return self.post(f"{self.base}/resume", {"code": code})

    def leave(self) -> TestResponse:
        return self.client.get("/feedback/leave")

    def answer(self, answers: Answers) -> TestResponse:
        """Answer (skipping what is not given) and send; return the response to the final "Send"."""
        self.answer_all(answers)
        return self.send()

    def answer_all(self, answers: Answers) -> TestResponse:
        """Walk every step from the first question, answering what is given and skipping the rest.

        Follows the app's own redirects (and "what happens next" pages), so the
        order of questions, content warnings and sections is the app's, not ours.
        Returns the "Check your answers" page.
        """
        path = self._follow(self.client.get(f"{self.base}/questions"))
        for _ in range(100):
            if path.startswith(f"{self.base}/check"):
                return self.client.get(path)
            if path.startswith(f"{self.base}/section/"):
                response = self.post(path, {"action": "continue"})
            else:
                question_id = path.split("/q/")[1].split("?")[0]
                given = answers.get(question_id)
                response = (self.answer_question(question_id, given) if given is not None
                            else self.skip(question_id))
            path = self._follow(response)
        raise AssertionError("the journey did not reach Check your answers")

    def _follow(self, response: TestResponse) -> str:
        if response.status_code == 303:
            return location(response)
        match = CONTINUE_LINK.search(response.get_data(as_text=True))
        assert response.status_code == 200 and match, f"stuck at a {response.status_code} page"
        return unescape(match.group(1))

    def give_feedback(self, answers: Answers, choices: tuple[str, ...] = ("store",)) -> str:
        """Consent, answer, check and send; return the receipt code."""
        self.consent(*choices)
        response = self.answer(answers)
        match = RECEIPT.search(response.get_data(as_text=True))
        assert match, f"no receipt code in the response ({response.status_code})"
        return match.group(1)


def policy_preamble(service_id: str, name: str) -> str:
    """The start of a small test policy: service, one helpline, one required consent choice, one class."""
    return f'''[service]
id = "{service_id}"
name.en = "{name}"
languages = ["en"]
exit_url = "https://example.org/"

[[service.helplines]]
name.en = "Samaritans"
phone = "116 123"

[consent]
version = 1
intro.en = "Choose."

[[consent.choices]]
id = "store"
required = true
label.en = "Keep my answers."

[classes.answers]
description.en = "Answers"
retention = {{ keep = "P1Y", after = "submitted" }}
read = ["case_owner"]
'''


class HttpResponse:
    """What ServiceUser reads of a response, from a real HTTP exchange."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status_code = status
        self.headers = headers
        self._body = body

    def get_data(self, as_text: bool = False) -> str | bytes:
        return self._body.decode("utf-8") if as_text else self._body


class HttpClient:
    """A browser's part for ServiceUser against a real server (gunicorn): cookies kept, redirects followed
    only when asked, forms posted url-encoded. Loopback only."""

    def __init__(self, base_url: str) -> None:
        import http.cookiejar
        import urllib.request

        class _NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *_args: object, **_kwargs: object) -> None:
                return None

        self.base_url = base_url
        self._cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self._cookies), _NoRedirect)

    def _exchange(self, method: str, path: str, data: dict[str, object] | None = None) -> HttpResponse:
        import urllib.error
        import urllib.parse
        import urllib.request

        body = urllib.parse.urlencode(data or {}, doseq=True).encode() if method == "POST" else None
        request = urllib.request.Request(self.base_url + path, data=body, method=method)  # noqa: S310 - loopback
        try:
            with self._opener.open(request, timeout=60) as response:
                return HttpResponse(response.status, {k.title(): v for k, v in response.headers.items()},
                                    response.read())
        except urllib.error.HTTPError as error:  # a 3xx (not followed) or a 4xx/5xx: still a response
            headers = {k.title(): v for k, v in error.headers.items()}
            return HttpResponse(error.code, headers, error.read())

    def get(self, path: str, follow_redirects: bool = False) -> HttpResponse:
        response = self._exchange("GET", path)
        for _ in range(10):
            if not (follow_redirects and response.status_code in (301, 302, 303, 307, 308)):
                break
            response = self._exchange("GET", response.headers["Location"].replace(self.base_url, ""))
        return response

    def post(self, path: str, data: dict[str, object]) -> HttpResponse:
        return self._exchange("POST", path, data)


def waited(condition: Callable[[], bool], timeout: float, every: float = 0.1) -> bool:
    """Whether ``condition`` came true within ``timeout`` seconds (checked every ``every``): for what other
    processes do in their own time. A bound against a hung test, never a timing assertion."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
