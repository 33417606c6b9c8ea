"""IPinfo look-ups through the official ``ipinfo`` library's batch call, with retries.

:class:`IpinfoClient` sends the IPs in batches of up to 1,000 through
``ipinfo.Handler.getBatchDetails`` (one ``POST {base}/batch`` each, a JSON
list of IPs, ``Authorization: Bearer <token>``; the answer maps each IP to
its details). Per batch it waits at most ``timeout`` seconds and tries again,
with exponential backoff (``Retry-After`` honoured, capped), on HTTP 429, 5xx,
timeouts, refused connections and malformed JSON, up to ``retries`` times. A
refused token (401/403) is not retried. When a batch still fails the
remaining batches are not sent: the service is down, the quota is spent or the
network is gone, and the run goes on with what it has, reporting how many IPs
stayed unresolved.

Pointing the library elsewhere (a test server on loopback, a mirror): the
library reads its base URL from a module constant, ``ipinfo.handler.API_URL``,
and calls ``requests.post`` directly, so it has no option for it. It does pass
its ``request_options`` to every ``requests`` call, and a ``requests`` auth
object (:class:`_BaseUrl`) sees each prepared request before it is sent: when
a base URL other than ``https://ipinfo.io`` is configured, that object
rewrites the scheme and host, nothing else (path, body, headers, token
unchanged). With the default base URL no such object is installed and the
library runs exactly as shipped. This keeps the library's request, headers,
bogon filtering and error types, and changes no global state.

The library formats every result after a batch (country names, flags); a
result it cannot format (``"country": null``, a list where a string belongs)
makes it raise although the HTTP exchange succeeded. The response body is
kept by a response hook, so such a batch is then read from the same bytes by
:func:`scantui.enrich.answers.from_ipinfo`, which cleans every value.

The token is sent only in the ``Authorization`` header and never appears in a
message, a log record or an exception text made here.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from scantui.config import DEFAULT_IPINFO_URL
from scantui.enrich.answers import Answer, from_ipinfo

BATCH_MAX = 1000
MAX_BACKOFF = 60.0


@dataclass
class IpinfoResult:
    """Answers by dotted IP, and what could not be resolved and why."""

    answers: dict[str, Answer] = field(default_factory=dict)
    unresolved: int = 0
    requests: int = 0
    retries: int = 0
    problem: str | None = None  # why IPs stayed unresolved, e.g. "rate limited (HTTP 429)"


class _NoCache:
    """The library's in-memory cache, turned off: scantui keeps its own on disk."""

    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        pass

    def __contains__(self, key: str) -> bool:
        return False


class _BaseUrl:
    """A ``requests`` auth hook that sends the library's requests to another base URL."""

    def __init__(self, base_url: str, default: str = DEFAULT_IPINFO_URL):
        self.base_url, self.default = base_url.rstrip("/"), default.rstrip("/")

    def __call__(self, request: Any) -> Any:
        if request.url.startswith(self.default):
            request.url = self.base_url + request.url[len(self.default):]
        return request


class _Retry(Exception):
    """A batch failed in a way worth another try (``wait`` seconds suggested by the server, if any)."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.reason, self.wait = reason, wait


class _GiveUp(Exception):
    """A batch failed in a way another try will not fix (a refused token)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class IpinfoClient:
    """Batch look-ups against the IPinfo API (see the module doc)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_IPINFO_URL,
        timeout: float = 10.0,
        retries: int = 4,
        backoff: float = 1.0,
        batch_size: int = BATCH_MAX,
        sleep: Callable[[float], None] = time.sleep,
    ):
        import ipinfo

        self.base_url = base_url.rstrip("/")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.batch_size = max(1, min(batch_size, BATCH_MAX))
        self._sleep = sleep
        self._last: dict[str, Any] = {}
        options: dict[str, Any] = {"timeout": timeout, "hooks": {"response": [self._remember]}}
        if self.base_url != DEFAULT_IPINFO_URL:
            options["auth"] = _BaseUrl(self.base_url)
        self._handler = ipinfo.getHandler(token, request_options=options, cache=_NoCache())

    def __repr__(self) -> str:  # never the token
        return f"IpinfoClient(base_url={self.base_url!r})"

    def _remember(self, response: Any, *args: Any, **kwargs: Any) -> Any:
        self._last = {"status": response.status_code, "retry_after": response.headers.get("Retry-After"),
                      "body": response.content}
        return response

    def lookup(self, ips: Sequence[str]) -> IpinfoResult:
        """Answers for *ips* (dotted IPv4 strings); never raises for a network or service failure."""
        result = IpinfoResult()
        todo = list(dict.fromkeys(ips))
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start:start + self.batch_size]
            try:
                result.answers.update(self._batch(chunk, result))
            except (_Retry, _GiveUp) as exc:
                result.problem = exc.reason
                result.unresolved = len(todo) - start
                break
        return result

    def _batch(self, chunk: list[str], result: IpinfoResult) -> dict[str, Answer]:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                result.requests += 1
                return self._once(chunk)
            except _Retry as exc:
                if attempt == self.retries:
                    raise
                result.retries += 1
                wait = exc.wait if exc.wait is not None else delay
                self._sleep(min(max(wait, 0.0), MAX_BACKOFF))
                delay = min(delay * 2, MAX_BACKOFF)
        raise AssertionError("unreachable")

    def _once(self, chunk: list[str]) -> dict[str, Answer]:
        import requests
        from ipinfo.exceptions import RequestQuotaExceededError

        self._last = {}
        try:
            raw = self._handler.getBatchDetails(chunk, batch_size=len(chunk), timeout_per_batch=self.timeout)
        except RequestQuotaExceededError:
            raise _Retry("rate limited (HTTP 429)", _retry_after(self._last.get("retry_after"))) from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status in (401, 403):
                raise _GiveUp(f"the token was refused (HTTP {status})") from None
            if status >= 500 or status == 408:
                raise _Retry(f"service error (HTTP {status})") from None
            raise _GiveUp(f"request refused (HTTP {status})") from None
        except requests.Timeout:
            raise _Retry(f"no answer within {self.timeout:g} s") from None
        except requests.ConnectionError:
            raise _Retry(f"cannot connect to {self.base_url}") from None
        except ValueError:  # the body is not JSON
            raise _Retry("malformed answer (not JSON)") from None
        except requests.RequestException as exc:
            raise _GiveUp(f"request failed ({type(exc).__name__})") from None
        except (TypeError, AttributeError, KeyError):
            # the library could not format a result; read the body it received ourselves
            raw = _parse_body(self._last.get("body"))
        return _answers(chunk, raw)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _parse_body(body: bytes | None) -> dict[str, Any]:
    try:
        doc = json.loads(body or b"")
    except ValueError:
        raise _Retry("malformed answer (not JSON)") from None
    if not isinstance(doc, dict):
        raise _Retry("malformed answer (not a JSON object)")
    return doc


def _answers(chunk: list[str], raw: Any) -> dict[str, Answer]:
    """The batch's answers for the IPs asked; results for anything else are ignored."""
    if not isinstance(raw, dict):
        raise _Retry("malformed answer (not a JSON object)")
    asked = set(chunk)
    out = {}
    for ip, details in raw.items():
        if ip in asked:
            answer = from_ipinfo(details if not hasattr(details, "all") else details.all)
            if answer is not None:
                out[ip] = answer
    return out


def dotted(ips: Sequence[int]) -> list[str]:
    return [str(ipaddress.IPv4Address(int(ip))) for ip in ips]
