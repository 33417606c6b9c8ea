"""The IPinfo path: the official library's batch call against a loopback server speaking the IPinfo batch API.

The server answers ``POST /batch`` (a JSON list of IPs, ``Authorization: Bearer <token>``)
with a JSON object mapping each IP to its details, as https://ipinfo.io/batch does, or
with the failure a test asks for: HTTP 429 (with ``Retry-After``), 5xx, a reply slower
than the timeout, malformed JSON, a refused token. A last test checks that without a
configured base URL the very same code sends its request to the real service.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest

from clihelp import run
from test_enrich_table import write_packets
from scantui.enrich.ipinfo_source import IpinfoClient

TOKEN = "tok-SECRET-1234567890"

DETAILS = {
    "8.8.8.8": {"ip": "8.8.8.8", "hostname": "dns.google", "city": "Mountain View", "country": "US",
                "org": "AS15169 Google LLC", "loc": "37.4056,-122.0775"},
    "162.142.125.10": {"ip": "162.142.125.10", "hostname": "scanner-10.ch1.censys-scanner.com", "country": "US",
                       "org": "AS398324 Censys, Inc."},
    "1.1.1.1": {"ip": "1.1.1.1", "hostname": "one.one.one.one", "country": "AU", "org": "AS13335 Cloudflare, Inc.",
                "asn": {"asn": "AS13335", "name": "Cloudflare, Inc.", "domain": "cloudflare.com", "route": "1.1.1.0/24"},
                "company": {"name": "APNIC and Cloudflare DNS Resolver project", "domain": "cloudflare.com"}},
    "9.9.9.9": {"ip": "9.9.9.9", "hostname": "dns9.quad9.net", "country": "US", "org": "AS19281 Quad9"},
    "45.33.80.243": {"ip": "45.33.80.243", "hostname": "zurich.binaryedge.ninja", "country": "US",
                     "org": "AS63949 Akamai Connected Cloud"},
}


class _State:
    def __init__(self):
        self.reset()

    def reset(self):
        self.plan: list[str] = []  # one step per request: "ok", "429", "503", "slow", "garbage", "403", "list", "nullcountry"
        self.requests: list[dict] = []
        self.details = dict(DETAILS)


class _Handler(BaseHTTPRequestHandler):
    state: _State

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, status: int, body: bytes, headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        st = self.state
        st.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                            "ua": self.headers.get("User-Agent"), "body": json.loads(body)})
        step = st.plan.pop(0) if st.plan else "ok"
        if self.path != "/batch":
            return self._send(404, b'{"error": "not found"}')
        if self.headers.get("Authorization") != f"Bearer {TOKEN}" or step == "403":
            return self._send(403, b'{"error": {"title": "Unknown token"}}')
        if step == "429":
            return self._send(429, b'{"error": "rate limit"}', {"Retry-After": "0.01"})
        if step == "503":
            return self._send(503, b"<html>down</html>")
        if step == "slow":
            time.sleep(1.0)
        if step == "garbage":
            return self._send(200, b'{"8.8.8.8": {"ip": "8.8.8.8", "org": "AS151')
        if step == "list":
            return self._send(200, b'["not", "an", "object"]')
        ips = json.loads(body)
        answer = {ip: st.details.get(ip, {"ip": ip}) for ip in ips}
        if step == "nullcountry":
            answer = {ip: {**d, "country": None, "loc": ["x"]} for ip, d in answer.items()}
        self._send(200, json.dumps(answer).encode())


@pytest.fixture
def ipinfo_server(monkeypatch):
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    state = _State()
    handler = type("H", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()


def _client(server, **kw):
    sleeps = []
    client = IpinfoClient(TOKEN, base_url=server.url, timeout=kw.pop("timeout", 2.0), retries=kw.pop("retries", 3),
                          backoff=0.01, sleep=sleeps.append, **kw)
    return client, sleeps


def test_batch_success_goes_through_the_library_with_the_token(ipinfo_server):
    client, _ = _client(ipinfo_server)
    res = client.lookup(["8.8.8.8", "1.1.1.1", "162.142.125.10"])
    assert res.problem is None and res.unresolved == 0 and res.requests == 1
    req = ipinfo_server.requests[0]
    assert req["path"] == "/batch" and req["auth"] == f"Bearer {TOKEN}"
    assert req["body"] == ["8.8.8.8", "1.1.1.1", "162.142.125.10"]
    assert req["ua"].startswith("IPinfoClient/Python")  # the official library made the request
    g = res.answers["8.8.8.8"]
    assert (g.asn, g.as_name, g.country, g.hostname) == (15169, "Google LLC", "US", "dns.google")
    cf = res.answers["1.1.1.1"]
    assert (cf.asn, cf.as_name, cf.company) == (13335, "Cloudflare, Inc.", "APNIC and Cloudflare DNS Resolver project")


def test_batches_of_at_most_batch_size(ipinfo_server):
    client, _ = _client(ipinfo_server, batch_size=2)
    res = client.lookup(list(DETAILS))
    assert [len(r["body"]) for r in ipinfo_server.requests] == [2, 2, 1]
    assert set(res.answers) == set(DETAILS)


def test_bogons_are_answered_without_a_request(ipinfo_server):
    client, _ = _client(ipinfo_server)
    res = client.lookup(["10.1.2.3", "192.168.0.1"])
    assert ipinfo_server.requests == [] and res.answers["10.1.2.3"].is_empty()


def test_rate_limit_is_retried_with_backoff_honouring_retry_after(ipinfo_server):
    ipinfo_server.plan = ["429", "429", "ok"]
    client, sleeps = _client(ipinfo_server)
    res = client.lookup(["8.8.8.8"])
    assert res.problem is None and res.retries == 2 and len(ipinfo_server.requests) == 3
    assert sleeps == [0.01, 0.01]  # Retry-After: 0.01
    assert res.answers["8.8.8.8"].asn == 15169


def test_server_errors_back_off_exponentially_then_give_up_and_count(ipinfo_server):
    ipinfo_server.plan = ["503"] * 10
    client, sleeps = _client(ipinfo_server, batch_size=2, retries=3)
    res = client.lookup(list(DETAILS))  # 5 IPs, 3 batches
    assert sleeps == [0.01, 0.02, 0.04]
    assert len(ipinfo_server.requests) == 4  # first batch tried 4 times; the others are not sent
    assert res.unresolved == 5 and res.problem == "service error (HTTP 503)" and res.answers == {}


def test_a_later_batch_failing_keeps_the_earlier_answers(ipinfo_server):
    ipinfo_server.plan = ["ok", "503", "503"]
    client, _ = _client(ipinfo_server, batch_size=2, retries=1)
    res = client.lookup(list(DETAILS))
    assert len(res.answers) == 2 and res.unresolved == 3


def test_timeout(ipinfo_server):
    ipinfo_server.plan = ["slow", "slow"]
    client, sleeps = _client(ipinfo_server, timeout=0.2, retries=1)
    res = client.lookup(["8.8.8.8"])
    # each reply comes after 1 s; only a request that stopped waiting (requests.Timeout) gives this problem
    assert res.unresolved == 1 and res.problem == "no answer within 0.2 s" and res.answers == {}
    assert res.requests == 2 and res.retries == 1 and sleeps == [0.01]  # tried, waited the backoff, tried again


@pytest.mark.parametrize("step, problem", [("garbage", "malformed answer (not JSON)"),
                                           ("list", "malformed answer (not a JSON object)")])
def test_malformed_json(ipinfo_server, step, problem):
    ipinfo_server.plan = [step] * 5
    client, _ = _client(ipinfo_server, retries=2)
    res = client.lookup(["8.8.8.8"])
    assert res.unresolved == 1 and res.problem == problem and len(ipinfo_server.requests) == 3


def test_a_result_the_library_cannot_format_is_read_from_the_same_bytes(ipinfo_server):
    ipinfo_server.plan = ["nullcountry"]
    client, _ = _client(ipinfo_server)
    res = client.lookup(["8.8.8.8"])
    assert res.problem is None and len(ipinfo_server.requests) == 1
    assert (res.answers["8.8.8.8"].asn, res.answers["8.8.8.8"].country) == (15169, None)


def test_refused_token_is_not_retried(ipinfo_server):
    client = IpinfoClient("wrong-token", base_url=ipinfo_server.url, retries=3, backoff=0.01, sleep=lambda s: None)
    res = client.lookup(["8.8.8.8"])
    assert len(ipinfo_server.requests) == 1 and res.problem == "the token was refused (HTTP 403)"
    assert "wrong-token" not in repr(client)


def test_unreachable_service(ipinfo_server):
    client = IpinfoClient(TOKEN, base_url="http://127.0.0.1:9", retries=1, backoff=0.01, sleep=lambda s: None)
    res = client.lookup(["8.8.8.8", "1.1.1.1"])
    assert res.unresolved == 2 and res.problem == "cannot connect to http://127.0.0.1:9"


def test_without_a_base_url_the_same_code_calls_the_real_service(monkeypatch):
    """No test server configured: the prepared request goes to https://ipinfo.io/batch (nothing is sent)."""
    import requests
    from requests.adapters import HTTPAdapter

    seen = []

    def fake_send(self, request, **kwargs):
        seen.append(request)
        resp = requests.Response()
        resp.status_code, resp._content, resp.url = 200, json.dumps({"8.8.8.8": DETAILS["8.8.8.8"]}).encode(), request.url
        resp.headers["Content-Type"] = "application/json"
        resp.request = request
        return resp

    monkeypatch.setattr(HTTPAdapter, "send", fake_send)
    client = IpinfoClient(TOKEN, retries=0)
    res = client.lookup(["8.8.8.8"])
    assert [r.url for r in seen] == ["https://ipinfo.io/batch"]
    assert seen[0].method == "POST" and seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(seen[0].body) == ["8.8.8.8"]
    assert res.answers["8.8.8.8"].hostname == "dns.google"
    # and the test server path only swaps scheme and host
    local = IpinfoClient(TOKEN, base_url="http://127.0.0.1:1", retries=0)
    seen.clear()
    local.lookup(["8.8.8.8"])
    assert [r.url for r in seen] == ["http://127.0.0.1:1/batch"]


# ---------------------------------------------------------------- through the command line


def _data(tmp_path):
    path = tmp_path / "packets.parquet"
    write_packets(path, {day: ["8.8.8.8", "1.1.1.1", "162.142.125.10", "9.9.9.9"] for day in (1, 2)})
    return path


@pytest.fixture
def cli_env(tmp_path, monkeypatch, ipinfo_server):
    config = tmp_path / "config.yaml"
    config.write_text(f"enrich:\n  ipinfo_url: {ipinfo_server.url}\n  retries: 1\n  timeout: 2\n")
    monkeypatch.setenv("SCANTUI_CONFIG", str(config))
    monkeypatch.setenv("SCANTUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IPINFO_TOKEN", TOKEN)
    return ipinfo_server


def test_cli_enrich_from_ipinfo_then_from_the_cache(tmp_path, capsys, caplog, cli_env):
    caplog.set_level(logging.DEBUG)
    data, out = _data(tmp_path), tmp_path / "enrich.parquet"
    code, stdout, err = run(["enrich", str(data), "-o", str(out), "--json"], capsys)
    assert code == 0, err
    table = pl.read_parquet(out)
    censys = table.filter(pl.col("hostname") == "scanner-10.ch1.censys-scanner.com").row(0, named=True)
    assert (censys["asn"], censys["org"], censys["category"], censys["source"]) == (398324, "Censys", "commercial", "ipinfo")
    assert censys["rule"] == "cidr:162.142.125.0/24 → Censys (commercial)"
    assert table.height == 4  # one row per source: nothing changes between the two days
    assert len(cli_env.requests) == 1
    # second run: everything is in the cache, no request
    code, _, err = run(["enrich", str(data), "-o", str(out)], capsys)
    assert code == 0 and len(cli_env.requests) == 1
    # the token is never shown or logged
    assert TOKEN not in stdout + err + caplog.text + out.read_bytes().decode("latin-1")


def test_cli_service_down_finishes_with_a_count(tmp_path, capsys, cli_env):
    cli_env.plan = ["503"] * 10
    data, out = _data(tmp_path), tmp_path / "enrich.parquet"
    code, _, err = run(["enrich", str(data), "-o", str(out)], capsys)
    assert code == 0 and out.exists()
    assert "IPinfo: service error (HTTP 503); 4 of 4 IPs unresolved" in " ".join(err.split())
    assert "4 unresolved" in " ".join(err.split())
    assert TOKEN not in err
    # the CIDR rule still names Censys without any look-up
    table = pl.read_parquet(out)
    assert table.filter(pl.col("org") == "Censys").height == 1


def test_cli_offline_uses_the_cache_only(tmp_path, capsys, cli_env):
    data, out = _data(tmp_path), tmp_path / "enrich.parquet"
    assert run(["enrich", str(data), "-o", str(out), "--offline"], capsys)[0] == 0
    assert cli_env.requests == []
    assert pl.read_parquet(out)["asn"].null_count() == 4
