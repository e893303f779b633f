"""A loopback E-utilities server for the tests: PubMed's esearch, efetch and epost, with faults.

Faithful where the client depends on it (https://www.ncbi.nlm.nih.gov/books/NBK25499/):

- esearch answers carry the real DOCTYPE (``-//NLM//DTD esearch 20060628//EN``, whose DTD
  Bio.Entrez has locally), Count, RetMax, RetStart, QueryKey, WebEnv, IdList,
  TranslationSet and QueryTranslation, or an ``<ERROR>``; they honour term, retstart,
  retmax, usehistory, datetype (pdat = publication date, mdat = DateRevised), mindate and
  maxdate, and list at most the first 10,000 matches, as PubMed does;
- efetch answers are a ``PubmedArticleSet`` with the PubMed DOCTYPE, as ``text/xml``, by
  WebEnv + query_key + retstart + retmax (history sets reach their first 10,000 records) or
  by an id list, over GET or POST;
- epost puts an id list on the history server.

The dataset is synthetic: copies of ``tests/fixtures/xml/structured_abstract.xml`` with new
PMIDs, titles, publication dates and DateRevised dates; "decoy" records are about coffee and
match no kratom term. Faults are scripted per request (:meth:`EutilsServer.fault`) and
every request is logged with its time, method, path, parameters and the fault it got.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import re
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from lxml import etree

FIXTURE = Path(__file__).parent / "fixtures" / "xml" / "structured_abstract.xml"
SEARCH_CAP = 10_000  # esearch lists, and history sets reach, only the first 10,000 matches
EFETCH_MAX = 10_000
ESEARCH_DOCTYPE = ('<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch 20060628//EN" '
                   '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">')
EPOST_DOCTYPE = ('<!DOCTYPE ePostResult PUBLIC "-//NLM//DTD epost 20060628//EN" '
                 '"https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/epost.dtd">')
PUBMED_DOCTYPE = ('<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" '
                  '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">')
FAULTS = {"429", "400", "500", "502", "503", "stall", "reset", "truncate", "cut", "short",
          "error", "overlap", "hold"}


# --------------------------------------------------------------------------- records


def _templates() -> tuple[str, str]:
    """The fixture record with placeholders: (kratom record, coffee decoy)."""
    root = etree.parse(str(FIXTURE)).getroot()
    article = root.find("PubmedArticle")
    mc = article.find("MedlineCitation")
    mc.find("PMID").text = "@PMID@"
    for aid in article.iterfind("PubmedData/ArticleIdList/ArticleId"):
        aid.text = {"pubmed": "@PMID@", "doi": "10.5555/synthetic.@PMID@", "pmc": "PMC@PMID@"}[aid.get("IdType")]
    mc.find("Article/ELocationID").text = "10.5555/synthetic.@PMID@"
    pubdate = mc.find("Article/Journal/JournalIssue/PubDate")
    revised = mc.find("DateRevised")
    for node, prefix in ((pubdate, "P"), (revised, "R")):
        for part in ("Year", "Month", "Day"):
            node.find(part).text = f"@{prefix}{part[0]}@"
    mc.find("Article/ArticleTitle").text = "@TITLE@"
    kratom = etree.tostring(article, encoding="unicode")
    for text in mc.iterfind("Article/Abstract/AbstractText"):
        text.text = "Adults reported their coffee intake and sleep in a diary."
    for kw in mc.iterfind("KeywordList/Keyword"):
        kw.text = "coffee"
    for heading in list(mc.iterfind("MeshHeadingList/MeshHeading")):
        if heading.findtext("DescriptorName") == "Mitragyna":
            heading.getparent().remove(heading)
    decoy = etree.tostring(article, encoding="unicode")
    assert "itragyn" not in decoy.replace("@TITLE@", "") and "ratom" not in decoy
    return kratom, decoy


@dataclass
class Rec:
    pmid: int
    pdat: dt.date
    mdat: dt.date
    kratom: bool = True
    version: int = 1

    @property
    def title(self) -> str:
        if self.kratom:
            return f"Kratom use and withdrawal, synthetic record {self.pmid} (version {self.version})."
        return f"Coffee intake and sleep, synthetic record {self.pmid} (version {self.version})."

    def searchable(self) -> str:
        words = "kratom mitragyna speciosa opioid withdrawal" if self.kratom else "coffee sleep"
        return f"{self.title} {words}".lower()


def _term_words(term: str) -> list[str]:
    """The words of an OR-ed PubMed query, field tags and quotes removed, lower case."""
    words = []
    for part in re.split(r"\s+OR\s+", term):
        word = re.sub(r"\[[^\]]*\]", "", part).strip().strip("()\"' ").lower()
        if word:
            words.append(word)
    return words


def _date(text: str, end: bool) -> dt.date:
    """YYYY, YYYY/MM or YYYY/MM/DD (ranges are inclusive: an end takes its last day)."""
    parts = [int(p) for p in text.replace("-", "/").split("/")]
    if len(parts) == 3:
        return dt.date(*parts)
    if len(parts) == 2:
        y, m = parts
        return (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)) if end else dt.date(y, m, 1)
    return dt.date(parts[0], 12, 31) if end else dt.date(parts[0], 1, 1)


# --------------------------------------------------------------------------- faults and log


@dataclass
class Fault:
    kind: str
    tool: str | None = None  # esearch, efetch (efetch-history, efetch-id), epost; None: any
    times: int | None = 1  # None: every matching request
    after: int = 0  # let this many matching requests through first
    retry_after: str | None = None  # for 429
    seconds: float = 5.0  # for stall and hold
    drop: int = 1  # for short
    seen: int = 0
    applied: int = 0

    def take(self, tool: str, variant: str) -> bool:
        if self.tool not in (None, tool, variant):
            return False
        if self.times is not None and self.applied >= self.times:
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        self.applied += 1
        return True


@dataclass
class Logged:
    time: float  # time.monotonic() when the request arrived
    method: str
    path: str
    tool: str
    params: dict[str, str]
    fault: str | None = None
    status: int = 200
    pmids: list[int] = field(default_factory=list)  # records an efetch answer carried


# --------------------------------------------------------------------------- the server


class EutilsServer:
    """Start with :meth:`start` (port 0 on 127.0.0.1); ``url`` is the NCBI_EUTILS_URL to use."""

    def __init__(self, *, search_cap: int = SEARCH_CAP):
        self.search_cap = search_cap
        self.history_enabled = True  # False: a mirror without the history server
        self.records: dict[int, Rec] = {}
        self.history: dict[str, dict[str, list[int]]] = {}
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self.lock = threading.Lock()
        self.released = threading.Event()
        self._kratom, self._decoy = _templates()
        self._cache: dict[tuple[int, int], bytes] = {}
        self._httpd: http.server.ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "EutilsServer":
        server = self

        class Handler(_Handler):
            eutils = server

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        if self._httpd:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/entrez/eutils/"

    # ------------------------------------------------------------------ the dataset

    def add(self, n: int, *, start: int = 95_000_001, kratom: bool = True,
            pdat: tuple[dt.date, dt.date] = (dt.date(1995, 1, 1), dt.date(2024, 12, 31)),
            mdat: dt.date = dt.date(2024, 6, 1)) -> list[int]:
        """Add ``n`` records with consecutive PMIDs and publication dates spread over ``pdat``."""
        span = (pdat[1] - pdat[0]).days
        pmids = list(range(start, start + n))
        with self.lock:
            for i, pmid in enumerate(pmids):
                day = pdat[0] + dt.timedelta(days=(i * 7919) % (span + 1))
                self.records[pmid] = Rec(pmid, day, mdat, kratom)
        return pmids

    def modify(self, pmids, *, mdat: dt.date | None = None) -> None:
        """A new version of each record (its title changes), revised on ``mdat`` (today, UTC)."""
        mdat = mdat or dt.datetime.now(dt.timezone.utc).date()
        with self.lock:
            for pmid in pmids:
                self.records[pmid].version += 1
                self.records[pmid].mdat = mdat

    def kratom_pmids(self) -> set[int]:
        return {p for p, r in self.records.items() if r.kratom}

    def record_xml(self, pmid: int) -> bytes:
        rec = self.records[pmid]
        key = (pmid, rec.version)
        cached = self._cache.get(key)
        if cached is None:
            text = self._kratom if rec.kratom else self._decoy
            for token, value in (
                ("@PMID@", str(pmid)), ("@TITLE@", rec.title),
                ("@PY@", str(rec.pdat.year)), ("@PM@", rec.pdat.strftime("%b")), ("@PD@", f"{rec.pdat.day:02d}"),
                ("@RY@", str(rec.mdat.year)), ("@RM@", f"{rec.mdat.month:02d}"), ("@RD@", f"{rec.mdat.day:02d}"),
            ):
                text = text.replace(token, value)
            cached = self._cache[key] = text.encode("utf-8")
        return cached

    # ------------------------------------------------------------------ faults and the log

    def fault(self, kind: str, tool: str | None = None, *, times: int | None = 1, after: int = 0,
              **options) -> Fault:
        """Script a fault for the next matching requests (``times=None``: all of them)."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}")
        fault = Fault(kind, tool, times, after, **options)
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
        self.released.set()

    def requests(self, tool: str | None = None) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if tool in (None, r.tool)]

    def max_in_window(self, period: float = 1.0) -> int:
        """The most requests that arrived within any ``period`` seconds."""
        times = sorted(r.time for r in self.requests())
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= period:
                lo += 1
            best = max(best, hi - lo + 1)
        return best

    def fetched_pmids(self) -> list[int]:
        return [p for r in self.requests("efetch") for p in r.pmids]

    # ------------------------------------------------------------------ answers

    def _take_fault(self, tool: str, variant: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.take(tool, variant):
                    return fault
        return None

    def search(self, params: dict[str, str]) -> tuple[bytes, list[int]]:
        if params.get("db", "pubmed") != "pubmed":
            return _esearch_error(f"Invalid db name specified: {params.get('db')}"), []
        term = params.get("term", "").strip()
        if not term:
            return _esearch_error("Empty term and query_key - nothing todo"), []
        datetype = params.get("datetype")
        mindate, maxdate = params.get("mindate"), params.get("maxdate")
        if bool(mindate) != bool(maxdate):
            return _esearch_error("mindate and maxdate must be given together"), []
        if mindate and datetype not in ("pdat", "mdat"):
            return _esearch_error(f"Invalid datetype: {datetype}"), []
        try:
            retstart = int(params.get("retstart", 0))
            retmax = min(int(params.get("retmax", 20)), self.search_cap)
            low = _date(mindate, end=False) if mindate else None
            high = _date(maxdate, end=True) if maxdate else None
        except ValueError as exc:
            return _esearch_error(f"Invalid parameter: {exc}"), []
        if retstart >= self.search_cap:
            return _esearch_error(
                f"Search Backend failed: Exception:\n'retstart' cannot be larger than {self.search_cap - 2}. "
                f"For PubMed, ESearch can only retrieve the first {self.search_cap - 1:,} records matching the query."
            ), []
        words = _term_words(term)
        with self.lock:
            matches = sorted(
                (r.pmid for r in self.records.values()
                 if any(w in r.searchable() for w in words)
                 and (low is None or low <= (r.pdat if datetype == "pdat" else r.mdat) <= high)),
                reverse=True,  # newest PMIDs first, like PubMed's default order
            )
            webenv, query_key = None, None
            if params.get("usehistory") == "y" and self.history_enabled:
                webenv = params.get("WebEnv") or f"MCID_{uuid.uuid4().hex}"
                keys = self.history.setdefault(webenv, {})
                query_key = str(len(keys) + 1)
                keys[query_key] = matches
        ids = matches[retstart:min(retstart + retmax, self.search_cap)]
        history = (f"<QueryKey>{query_key}</QueryKey><WebEnv>{webenv}</WebEnv>" if webenv else "")
        body = (
            f'<?xml version="1.0" encoding="UTF-8" ?>\n{ESEARCH_DOCTYPE}\n'
            f"<eSearchResult><Count>{len(matches)}</Count><RetMax>{len(ids)}</RetMax>"
            f"<RetStart>{retstart}</RetStart>{history}<IdList>"
            + "".join(f"<Id>{i}</Id>" for i in ids)
            + "</IdList><TranslationSet/>"
            f"<QueryTranslation>{_escape(term)}</QueryTranslation></eSearchResult>\n"
        )
        return body.encode(), ids

    def fetch_ids(self, params: dict[str, str], shift: int = 0) -> list[int] | str:
        """The PMIDs an efetch asks for, or the text of an ERROR (``shift``: a history batch
        that starts that many records too early)."""
        if params.get("db", "pubmed") != "pubmed":
            return f"Invalid db name specified: {params.get('db')}"
        if params.get("id"):
            try:
                ids = [int(i) for i in params["id"].split(",") if i.strip()]
            except ValueError:
                return "Invalid uid"
            with self.lock:
                return [i for i in ids if i in self.records]
        webenv, query_key = params.get("WebEnv"), params.get("query_key")
        with self.lock:
            stored = self.history.get(webenv or "", {}).get(query_key or "")
        if stored is None:
            return f"Unable to obtain query #{query_key}"
        retstart = max(0, int(params.get("retstart", 0)) - shift)
        retmax = min(int(params.get("retmax", 20)), EFETCH_MAX)
        reachable = stored[: self.search_cap]
        return reachable[retstart:retstart + retmax]

    def article_set(self, pmids: list[int]) -> bytes:
        with self.lock:
            parts = [self.record_xml(p) for p in pmids]
        return (f'<?xml version="1.0" ?>\n{PUBMED_DOCTYPE}\n<PubmedArticleSet>\n'.encode()
                + b"\n".join(parts) + b"\n</PubmedArticleSet>\n")

    def post(self, params: dict[str, str]) -> bytes:
        try:
            ids = [int(i) for i in params.get("id", "").split(",") if i.strip()]
        except ValueError:
            ids = []
        with self.lock:
            webenv = params.get("WebEnv") or f"MCID_{uuid.uuid4().hex}"
            keys = self.history.setdefault(webenv, {})
            query_key = str(len(keys) + 1)
            keys[query_key] = [i for i in ids if i in self.records]
        return (f'<?xml version="1.0" encoding="UTF-8" ?>\n{EPOST_DOCTYPE}\n<ePostResult>'
                f"<QueryKey>{query_key}</QueryKey><WebEnv>{webenv}</WebEnv></ePostResult>\n").encode()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _esearch_error(message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" ?>\n{ESEARCH_DOCTYPE}\n'
            f"<eSearchResult><ERROR>{_escape(message)}</ERROR></eSearchResult>\n").encode()


def _efetch_error(message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" ?>\n<eFetchResult>\n\t<ERROR>{_escape(message)}</ERROR>\n'
            "</eFetchResult>\n").encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    eutils: EutilsServer
    server_version = "eutils-loopback/1"

    def log_message(self, format, *args):  # noqa: A002 - the tests read the server's own log
        pass

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer()

    def _answer(self) -> None:
        arrived = time.monotonic()
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if self.command == "POST":
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8")
            params.update({k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()})
        tool = url.path.rsplit("/", 1)[-1].removesuffix(".fcgi")
        entry = Logged(arrived, self.command, url.path, tool, params)
        server = self.eutils
        with server.lock:
            server.log.append(entry)
        if not url.path.startswith("/entrez/eutils/") or tool not in ("esearch", "efetch", "epost"):
            entry.status = 404
            return self._send(404, b"not found", "text/plain")
        variant = (tool + ("-id" if params.get("id") else "-history")) if tool == "efetch" else tool
        fault = server._take_fault(tool, variant)
        entry.fault = fault.kind if fault else None
        kind = fault.kind if fault else None
        if kind in ("429", "400", "500", "502", "503"):
            entry.status = int(kind)
            return self._error(fault, params)
        if kind == "stall":
            time.sleep(fault.seconds)
        elif kind == "hold":
            server.released.wait(fault.seconds)
        elif kind == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return None

        if tool == "esearch":
            if kind == "error":
                body = _esearch_error("Search Backend failed: Database is not supported: pubmed")
            else:
                body, _ = server.search(params)
            ctype = "text/xml; charset=UTF-8"
        elif tool == "epost":
            body, ctype = server.post(params), "text/xml; charset=UTF-8"
        else:
            ids = server.fetch_ids(params, shift=1 if kind == "overlap" else 0)
            if isinstance(ids, str) or kind == "error":
                body = _efetch_error(ids if isinstance(ids, str) else "Unable to obtain query #1")
            else:
                if kind == "short":
                    ids = ids[: max(0, len(ids) - fault.drop)]
                entry.pmids = list(ids)
                body = server.article_set(ids)
            ctype = "text/xml; charset=UTF-8"

        if kind == "truncate":  # Content-Length of the whole body, half of it sent
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return None
        if kind == "cut":  # no Content-Length: the body ends where the connection closes
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return None
        return self._send(200, body, ctype)

    def _error(self, fault: Fault, params: dict[str, str]) -> None:
        status = int(fault.kind)
        headers = {}
        if status == 429:
            body = json.dumps({"error": "API rate limit exceeded", "count": "11"}).encode()
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            ctype = "application/json"
        elif status == 400:  # NCBI echoes the key it refused
            body = json.dumps({"error": "API key invalid", "api-key": params.get("api_key", ""),
                               "type": "invalid", "status": "unknown"}).encode()
            ctype = "application/json"
        else:
            body = f"<html><body><h1>{status} Server Error</h1></body></html>".encode()
            ctype = "text/html"
        self._send(status, body, ctype, headers)

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a stall past its timeout)

