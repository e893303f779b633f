"""NCBI E-utilities through Bio.Entrez, with the care NCBI asks for.

NCBI's rules for E-utilities clients (https://www.ncbi.nlm.nih.gov/books/NBK25497/, "Usage
Guidelines and Requirements"): send ``tool`` and ``email`` with every request; make at most 3
requests per second without an API key and 10 with one; use the history server (WebEnv,
query_key) for large sets and HTTP POST for long lists of UIDs. The parameters of each
E-utility are those of https://www.ncbi.nlm.nih.gov/books/NBK25499/.

Requests are built by the public ``Bio.Entrez.esearch`` / ``efetch`` / ``epost`` functions,
with ``tool``, ``email`` and ``api_key`` passed explicitly (Entrez's module-wide settings are
never changed). Bio.Entrez sends them to its hard-coded NCBI address through the name
``Bio.Entrez.urlopen``, without a timeout and with retries that neither back off nor hold a
lock across threads. :func:`install_transport` puts :func:`_transport` in that name's place,
once: while one of our clients is active in the calling thread (a context variable), the
request goes to :meth:`Eutils._open`, which

- sends it to ``NCBI_EUTILS_URL`` (a mirror, a proxy or a test server) instead of NCBI,
- waits for the thread-safe sliding-window :class:`RateLimiter` (3 or 10 per second),
- gives every attempt a timeout and reads the whole body inside it,
- retries 429, 5xx, timeouts, resets and cut bodies a bounded number of times with
  exponential backoff and jitter, honouring ``Retry-After``,
- raises :class:`EutilsError` (not ``HTTPError``/``URLError``, so Entrez does not retry on
  top) when it gives up, and at once for a 4xx other than 429.

Outside our clients the transport is urllib's own ``urlopen``, so other users of Bio.Entrez
in the same process see no difference.

The API key never leaves this module except inside the request itself: it is not in the
config's repr, in log lines, in exception messages (:func:`scrub` removes it, also from error
bodies that echo it back) or in anything written to the database.
"""

from __future__ import annotations

import contextlib
import contextvars
import email.utils
import http.client
import io
import logging
import os
import random
import re
import threading
import time
import urllib.error
import urllib.request
import urllib.response
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from Bio import Entrez

from . import __version__
from .errors import ConfigError, EvidenceError

log = logging.getLogger(__name__)

#: Where Bio.Entrez sends every request; rewritten to the configured base.
NCBI_BASE = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
#: The ``tool`` parameter NCBI asks for (NBK25497): the name of the software.
TOOL = "kratom-evidence"
#: NBK25497: "no more than 3 requests per second" without a key, 10 with one.
RATE_WITHOUT_KEY = 3
RATE_WITH_KEY = 10
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class EutilsError(EvidenceError):
    """An E-utilities request failed for good: refused, or still failing after its retries."""


class Retry(Exception):
    """Raised inside :meth:`Eutils.attempts` to have the step tried again (with backoff)."""

    def __init__(self, problem: str, retry_after: float | None = None):
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class EutilsConfig:
    """Everything a client needs; ``from_env`` reads NCBI_EMAIL, NCBI_API_KEY, NCBI_EUTILS_URL."""

    base_url: str = NCBI_BASE
    email: str | None = None
    api_key: str | None = field(default=None, repr=False)
    tool: str = TOOL
    timeout: float = 60.0  # seconds per attempt, for the answer and for each read of its body
    max_tries: int = 5  # attempts per request (and per batch whose content is wrong)
    backoff_base: float = 1.0  # first retry waits about this long, doubling after each try
    backoff_max: float = 60.0
    max_retry_after: float = 300.0  # a longer Retry-After ends the run instead of a silent wait

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> "EutilsConfig":
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {
            "base_url": env.get("NCBI_EUTILS_URL") or NCBI_BASE,
            "email": (env.get("NCBI_EMAIL") or "").strip() or None,
            "api_key": (env.get("NCBI_API_KEY") or "").strip() or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def checked(self) -> "EutilsConfig":
        """This config with its base URL normalised; ConfigError names what is wrong."""
        parts = urlsplit(self.base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"NCBI_EUTILS_URL must be an http(s) address such as {NCBI_BASE}, "
                f"not {redact_url(self.base_url)!r}"
            )
        base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/", "", ""))
        if self.email is None and not self.is_loopback:
            raise ConfigError(
                "NCBI_EMAIL is not set: NCBI asks every E-utilities client for a contact e-mail "
                "(https://www.ncbi.nlm.nih.gov/books/NBK25497/); set NCBI_EMAIL=you@example.org"
            )
        if self.email is not None and "@" not in self.email:
            raise ConfigError(f"NCBI_EMAIL must be an e-mail address, not {self.email!r}")
        if self.timeout <= 0 or self.max_tries < 1:
            raise ConfigError("the timeout must be positive and max tries at least 1")
        return replace(self, base_url=base)

    @property
    def is_loopback(self) -> bool:
        return (urlsplit(self.base_url).hostname or "") in _LOOPBACK

    @property
    def rate(self) -> int:
        return RATE_WITH_KEY if self.api_key else RATE_WITHOUT_KEY

    def describe(self) -> dict[str, Any]:
        """What a run records about its client: no key, no e-mail, no credentials in the URL."""
        return {
            "eutils": redact_url(self.base_url), "with_api_key": bool(self.api_key),
            "rate_per_second": self.rate, "timeout": self.timeout, "max_tries": self.max_tries,
        }


def redact_url(url: str) -> str:
    """A URL without user:password and without query parameters (which may hold the key)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_KEY_PARAM = re.compile(r"(api_key=)[^&\s\"'<>]+", re.I)


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` without any ``api_key=...`` value and without the given secret strings."""
    text = _KEY_PARAM.sub(r"\1***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


# --------------------------------------------------------------------------- rate limit


class RateLimiter:
    """At most ``rate`` requests in any window of ``period`` seconds, across threads.

    A sliding window over the last ``rate`` requests. A request's time is when its answer
    came back (or it failed): the server certainly had it by then, so however long a request
    took to leave this machine, the server never sees more than ``rate`` arrivals in a
    period. A new request waits until the oldest of the last ``rate`` is answered and more
    than ``period`` (plus ``margin``) in the past; threads wait their turn.
    """

    def __init__(self, rate: int, period: float = 1.0, margin: float = 0.05):
        if rate < 1:
            raise ValueError("rate must be at least 1")
        self.rate, self.period, self.margin = rate, period, margin
        self._slots: deque[list] = deque(maxlen=rate)  # [time, answered]
        self._cond = threading.Condition()

    @contextlib.contextmanager
    def slot(self):
        """Hold a place in the window for one request: enter before sending, leave once the
        answer is read. Yields the seconds waited."""
        started = time.monotonic()
        with self._cond:
            while len(self._slots) == self.rate:
                oldest = self._slots[0]
                if not oldest[1]:
                    self._cond.wait()  # still in flight: its time is not known yet
                    continue
                wait = oldest[0] + self.period + self.margin - time.monotonic()
                if wait <= 0:
                    break
                self._cond.wait(wait)
            entry = [time.monotonic(), False]
            self._slots.append(entry)
        try:
            yield time.monotonic() - started
        finally:
            with self._cond:
                entry[0] = max(entry[0], time.monotonic())
                entry[1] = True
                self._cond.notify_all()

    def acquire(self) -> float:
        """Wait for a place and take it at once (for a request whose answer is not awaited)."""
        with self.slot() as waited:
            return waited


_LIMITERS: dict[tuple[str, int], RateLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


def shared_limiter(base_url: str, rate: int) -> RateLimiter:
    """One limiter per server and rate in this process, so that clients share the budget."""
    parts = urlsplit(base_url)
    key = (f"{parts.scheme}://{parts.hostname}:{parts.port}", rate)
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None:
            limiter = _LIMITERS[key] = RateLimiter(rate)
        return limiter


# --------------------------------------------------------------------------- transport

_ACTIVE: contextvars.ContextVar["Eutils | None"] = contextvars.ContextVar(
    "kratom_evidence_eutils", default=None
)
_LABEL: contextvars.ContextVar[str | None] = contextvars.ContextVar("kratom_evidence_label", default=None)
_INSTALL_LOCK = threading.Lock()


def _transport(request, *args, **kwargs):
    """Bio.Entrez's ``urlopen``: our client's transport while one is active, urllib's otherwise."""
    client = _ACTIVE.get()
    if client is None:
        return urllib.request.urlopen(request, *args, **kwargs)
    return client._open(request)


_transport.kratom_evidence = True  # type: ignore[attr-defined]


def install_transport() -> None:
    """Put :func:`_transport` in place of ``Bio.Entrez.urlopen`` (once; safe to call again)."""
    with _INSTALL_LOCK:
        if not getattr(Entrez.urlopen, "kratom_evidence", False):
            Entrez.urlopen = _transport


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


T = TypeVar("T")


@dataclass
class SearchResult:
    """One esearch answer (NBK25499, ESearch): the count, the listed PMIDs, the history keys."""

    count: int
    ids: list[int]
    webenv: str | None
    query_key: str | None


class Eutils:
    """A PubMed E-utilities client: every request through Bio.Entrez and our transport.

    Not tied to a thread: each call activates the client in the calling thread, and all
    threads share one :class:`RateLimiter` per server.
    """

    def __init__(self, config: EutilsConfig, *, limiter: RateLimiter | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config.checked()
        self.limiter = limiter or shared_limiter(self.config.base_url, self.config.rate)
        self._sleep = sleep
        self._stats_lock = threading.Lock()
        self.requests = 0  # HTTP attempts made
        self.retries = 0  # steps tried again: a failed request, or an answer that was wrong
        install_transport()

    # ------------------------------------------------------------------ the E-utilities

    def esearch(self, term: str, *, retmax: int, retstart: int = 0, datetype: str | None = None,
                mindate: str | None = None, maxdate: str | None = None,
                usehistory: bool = True) -> SearchResult:
        """ESearch (NBK25499#chapter4.ESearch) on PubMed, read with ``Entrez.read``.

        An answer holding ``<ERROR>``, one that cannot be read, or one whose IdList is shorter
        than its Count promises is tried again; after ``max_tries`` it raises EutilsError.
        """
        params = {"term": term, "retmax": retmax, "retstart": retstart,
                  "usehistory": "y" if usehistory else None, "datetype": datetype,
                  "mindate": mindate, "maxdate": maxdate}

        def attempt() -> SearchResult:
            body = self.call(Entrez.esearch, **params)
            try:
                record = Entrez.read(io.BytesIO(body))
            except RuntimeError as exc:  # Entrez raises the text of an <ERROR> element
                raise Retry(f"esearch answered ERROR: {' '.join(str(exc).split())}") from None
            except Exception as exc:  # a cut or garbled answer: expat / Entrez parser errors
                raise Retry(f"esearch answer unreadable ({type(exc).__name__}: {exc})") from None
            try:
                count = int(record["Count"])
                ids = [int(i) for i in record.get("IdList", [])]
            except (KeyError, TypeError, ValueError):
                raise Retry("esearch answer without a Count or with a malformed IdList") from None
            listed = max(0, min(count - retstart, retmax))
            if len(ids) != listed:
                raise Retry(f"esearch announced {count} records but listed {len(ids)} of the {listed} asked for")
            return SearchResult(count, ids, record.get("WebEnv"), record.get("QueryKey"))

        return self.attempts("esearch", attempt)

    def efetch_xml(self, label: str | None = None, **params: Any) -> bytes:
        """EFetch (NBK25499#chapter4.EFetch) of PubMed XML: by WebEnv + query_key + retstart +
        retmax, or by ``id`` (Bio.Entrez posts lists of 200 or more ids). Returns the body.

        ``label`` names the request in messages ("efetch records 501-1000 of 1234")."""
        return self.call(Entrez.efetch, label=label, retmode="xml", **params)

    def epost(self, ids: list[int]) -> tuple[str, str]:
        """EPost (NBK25499#chapter4.EPost): put PMIDs on the history server (always POST)."""

        def attempt() -> tuple[str, str]:
            body = self.call(Entrez.epost, id=",".join(map(str, ids)))
            try:
                record = Entrez.read(io.BytesIO(body))
                return record["WebEnv"], record["QueryKey"]
            except RuntimeError as exc:
                raise Retry(f"epost answered ERROR: {' '.join(str(exc).split())}") from None
            except Exception as exc:
                raise Retry(f"epost answer unreadable ({type(exc).__name__})") from None

        return self.attempts("epost", attempt)

    # ------------------------------------------------------------------ machinery

    def call(self, function: Callable[..., Any], label: str | None = None, **params: Any) -> bytes:
        """Call a Bio.Entrez function with our tool, email and key; return the body's bytes."""
        params = {"db": "pubmed", "tool": self.config.tool, "email": self.config.email,
                  "api_key": self.config.api_key, **params}
        token = _ACTIVE.set(self)
        label_token = _LABEL.set(label)
        try:
            with warnings.catch_warnings() if self.config.email is None else contextlib.nullcontext():
                if self.config.email is None:  # allowed for loopback servers only (see checked)
                    warnings.filterwarnings("ignore", message=r"\s*Email address is not specified")
                handle = function(**params)
            try:
                data = handle.read()
            finally:
                handle.close()
        finally:
            _LABEL.reset(label_token)
            _ACTIVE.reset(token)
        return data.encode("utf-8") if isinstance(data, str) else data

    def attempts(self, what: str, step: Callable[[], T]) -> T:
        """Run ``step`` until it returns; on :class:`Retry` wait (backoff) and try again, at
        most ``max_tries`` times; then raise EutilsError naming the last problem."""
        tries = self.config.max_tries
        for attempt in range(1, tries + 1):
            try:
                return step()
            except Retry as exc:
                problem = self.scrub(exc.problem)
                if attempt == tries:
                    raise EutilsError(f"{what}: gave up after {tries} tries; last problem: {problem}") from None
                delay = self.delay(attempt, exc.retry_after, what)
                with self._stats_lock:
                    self.retries += 1
                log.warning("%s: %s; try %d of %d in %.1f s", what, problem, attempt + 1, tries, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def delay(self, attempt: int, retry_after: float | None = None, what: str = "request") -> float:
        """Exponential backoff with jitter (half fixed, half random); Retry-After when longer."""
        cap = min(self.config.backoff_max, self.config.backoff_base * 2 ** (attempt - 1))
        wait = cap / 2 + random.uniform(0, cap / 2)
        if retry_after is not None:
            if retry_after > self.config.max_retry_after:
                raise EutilsError(
                    f"{what}: the server asked to wait {retry_after:.0f} s before trying again "
                    f"(more than {self.config.max_retry_after:.0f} s); run again later"
                )
            wait = max(wait, retry_after)
        return wait

    def scrub(self, text: str) -> str:
        return scrub(text, self.config.api_key)

    def _target(self, url: str) -> str:
        if url.startswith(NCBI_BASE):
            return self.config.base_url + url[len(NCBI_BASE):]
        return url

    def _open(self, request: urllib.request.Request) -> urllib.response.addinfourl:
        """One E-utilities request with rate limit, timeout and bounded retries.

        Returns a response whose body has been read in full (so that a stall, a reset or a
        cut in the body is retried here too); raises EutilsError when it gives up.
        """
        url = self._target(request.full_url)
        what = _LABEL.get() or urlsplit(url).path.rsplit("/", 1)[-1].removesuffix(".fcgi") or "request"
        method = request.get_method()

        def attempt() -> urllib.response.addinfourl:
            with self._stats_lock:
                self.requests += 1
            fresh = urllib.request.Request(
                url, data=request.data, method=method,
                headers={"User-Agent": f"{TOOL}/{__version__} (Bio.Entrez; urllib)"},
            )
            try:
                with self.limiter.slot(), urllib.request.urlopen(fresh, timeout=self.config.timeout) as response:
                    body = response.read()
                    headers, status = response.headers, response.status
            except urllib.error.HTTPError as exc:
                retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
                detail = _error_detail(exc)
                exc.close()
                if exc.code == 429 or exc.code >= 500:
                    raise Retry(f"HTTP {exc.code} {exc.reason}{detail}", retry_after) from None
                raise EutilsError(
                    f"{what}: {redact_url(self.config.base_url)} refused the request "
                    f"(HTTP {exc.code} {exc.reason}){self.scrub(detail)}"
                ) from None
            except urllib.error.URLError as exc:
                reason = exc.reason
                if isinstance(reason, TimeoutError):
                    raise Retry(f"no answer within {self.config.timeout:g} s") from None
                raise Retry(f"cannot connect to {redact_url(self.config.base_url)} ({reason})") from None
            except TimeoutError:
                raise Retry(f"no answer within {self.config.timeout:g} s") from None
            except http.client.IncompleteRead as exc:
                raise Retry(f"the answer was cut short ({len(exc.partial)} bytes read, "
                            f"{exc.expected} more expected)") from None
            except (http.client.HTTPException, OSError) as exc:
                raise Retry(f"the connection broke ({type(exc).__name__}: {exc})") from None
            return urllib.response.addinfourl(io.BytesIO(body), headers, redact_url(url), status)

        return self.attempts(what, attempt)


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """The first line of an error body (NCBI sends a short JSON or HTML text), if any."""
    try:
        text = exc.read(300).decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the detail is a courtesy
        return ""
    text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(text.split())
    return f": {text[:200]}" if text else ""
