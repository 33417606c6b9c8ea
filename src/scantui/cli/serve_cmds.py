"""``scantui serve``: the TUI in a web browser, through textual-serve.

textual-serve answers HTTP and, for each browser session, starts a process of its
own: here the real ``scantui open PATH... --labels FILE`` with the options given to
``serve`` (absolute paths, so every session reads the same data and the same labels
file). Several sessions on one labels file are then several terminals: their saves
merge, each sees the others' through the file watch, each edit carries its author.

There is no authentication: the server binds to the loopback address unless
``--public`` is given, and then says so on stderr.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import shlex
import socket
import sys

import click

from scantui.cli.data_cmds import open_cmd
from scantui.cli.output import message

#: The options of ``serve`` itself; every other parameter is ``scantui PATH``'s, passed on to each session.
_OWN = ("host", "port", "public", "public_url")


def session_command(paths, values: dict, params=None) -> list[str]:
    """The argv each browser session runs: ``python -m scantui open`` on absolute *paths* with the
    options of ``scantui PATH`` that were given (*values*: parameter name -> parsed value)."""
    argv = [sys.executable, "-m", "scantui", "open"]
    for param in params if params is not None else open_cmd.params:
        if not isinstance(param, click.Option):
            continue
        value = values.get(param.name)
        flag = max(param.opts, key=len)
        if param.name == "labels_path":
            argv += [flag, os.path.abspath(value or "scantui-labels.yaml")]
        elif param.is_flag:
            if value:
                argv.append(flag)
        elif value is not None and value != param.default:
            argv += [flag, str(value)]
    return [*argv, "--", *(os.path.abspath(p) for p in paths)]


def shell_command(paths, values: dict) -> str:
    """:func:`session_command` as the one line textual-serve hands to ``/bin/sh`` (every argument quoted)."""
    return shlex.join(session_command(paths, values))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_port(host: str, port: int) -> None:
    """Fail now, in one line, when *host*:*port* cannot be bound (in use, no such address)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise click.UsageError(f"--host {host}: {exc.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            sock.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise click.UsageError(f"port {port} on {host} is in use (another server?): choose another with --port") from None
            raise click.UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _check_data_options(values: dict, paths) -> None:
    """What ``scantui PATH`` checks before it opens the TUI, checked once here (not in every session)."""
    from scantui.analysis.collab_query import make_query
    from scantui.io.loader import expand
    from scantui.io.stdin import is_stdin

    if values.get("telescope") and values.get("telescope_size") is not None:
        raise click.UsageError("--telescope and --telescope-size exclude each other")
    if values.get("workers") is not None and values.get("scheduler") is not None:
        raise click.UsageError("--workers and --scheduler exclude each other")
    make_query(by=values["by"], window=values["window"], tolerance=values["tolerance"],
               telescope_cidrs=values.get("telescope"))
    if any(is_stdin(p) for p in paths):
        raise click.UsageError("serve cannot read standard input: each browser session reads the data again")
    if not values.get("follow"):  # --follow may start on a folder that is still empty
        expand(paths)


def serve(paths, host: str, port: int, public: bool, public_url: str | None, **values) -> None:
    """Serve the TUI on PATHS to web browsers (textual-serve); see the module doc."""
    if not _is_loopback(host) and not public:
        raise click.UsageError(f"--host {host} is not a loopback address: add --public to serve beyond this machine "
                               "(there is no authentication)")
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        raise click.UsageError(f"--public-url must be an http:// or https:// URL, got {public_url!r}")
    # the page tells the browser where the app's websocket is: an absolute URL (textual-serve's way)
    name = socket.getfqdn() if host in ("0.0.0.0", "::") else host
    name = f"[{name}]" if ":" in name and not name.startswith("[") else name  # an IPv6 address
    url = (public_url or f"http://{name}:{port}").rstrip("/")
    _check_data_options(values, paths)
    _check_port(host, port)
    command = shell_command(paths, values)
    if public:
        message(f"scantui: warning: serving on {host}:{port} with NO authentication: whoever reaches this port "
                f"uses the app and edits the labels file as you (see README, Browser); browsers are sent to {url} "
                "(--public-url to change)")
    try:
        from textual_serve.server import Server
    except ImportError:
        raise click.ClickException("scantui serve needs the textual-serve package (pip install -e . installs it)") from None
    Server(command, host=host, port=port, title="scantui", public_url=url).serve()


def _make_command() -> click.Command:
    own = [
        click.Option(["--host"], default="127.0.0.1", show_default=True,
                     help="Address to listen on; anything but loopback needs --public."),
        click.Option(["--port"], type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."),
        click.Option(["--public"], is_flag=True,
                     help="Allow a --host other than loopback. There is NO authentication: prefer SSH port-forwarding "
                          "or a reverse proxy with its own login (README, Browser)."),
        click.Option(["--public-url"], default=None, metavar="URL",
                     help="The URL browsers use to reach the server (behind a reverse proxy), e.g. https://scans.example.org"),
    ]
    return click.Command(
        "serve", params=[*own, *open_cmd.params], callback=serve,
        short_help="The TUI in a web browser (textual-serve)",
        help="Serve the TUI on PATHS to web browsers (textual-serve): each browser session runs its own "
             "`scantui PATH...` with these options, all on one labels file, like several terminals. "
             "Loopback only unless --public; there is no authentication.",
        context_settings={"help_option_names": ["-h", "--help"]},
    )


serve_cmd = _make_command()
COMMANDS = [serve_cmd]
