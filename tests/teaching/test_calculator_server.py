"""``make calculator`` serves the calculator page behind a token printed in its URL and a ``Host`` check, on this
machine only, and the page loads nothing from another host. The server is started with the Makefile's own
command line."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser import stop_process_tree

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def calculator_command(port: int) -> tuple[dict, list[str]]:
    """The Makefile's ``calculator`` recipe as (environment, argv), on ``port``."""
    recipe = re.search(r"^calculator:.*\n\t(.+)$", (REPO / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    words = shlex.split(recipe.group(1).replace("$(CURDIR)", str(REPO)).replace("$(BIN)", str(BIN)))
    env = dict(word.split("=", 1) for word in words if re.fullmatch(r"[A-Z_]+=.*", word))
    return env, [w for w in words if not re.fullmatch(r"[A-Z_]+=.*", w)] + [f"--port={port}"]


@pytest.fixture(scope="module")
def calculator(tmp_path_factory):
    import os

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env, command = calculator_command(port)
    log = tmp_path_factory.mktemp("voila") / "voila.log"
    with open(log, "w") as handle:
        server = subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, **env},
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        while not (found := re.search(r"http://\S+\?token=[0-9a-f]+", log.read_text())):
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.3)
        yield found.group(0), command
    finally:
        stop_process_tree(server)


def status(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=60) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def page_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=120) as response:
        return response.read().decode("utf-8")


def test_the_page_keeps_its_template_whatever_the_url_asks(calculator):
    """Voilà 0.5.8 (pinned in pyproject.toml) takes a template name from ``?template=`` unchecked; the server
    ignores that argument, so neither Voilà's lab template (with its CDN stylesheets) nor a path can be asked for."""
    url, command = calculator
    assert "--VoilaConfiguration.allow_template_override=NO" in command
    assert "cdn.jsdelivr.net" not in page_text(url)
    for asked in ("lab", "../../../../tmp"):
        text = page_text(f"{url}&template={asked}")
        assert "Total Improvement Score calculator" in text and "cdn.jsdelivr.net" not in text, asked


def test_the_server_binds_locally_and_needs_the_token_it_prints(calculator):
    url, command = calculator
    assert "--Voila.ip=127.0.0.1" in command and "--no-browser" in command
    base = url.split("?")[0]
    assert urlsplit(url).hostname == "127.0.0.1"
    assert status(base) != 200 and status(base, host="rebound.example.com") != 200  # DNS rebinding: no token
    assert status(url) == 200


@pytest.mark.parametrize(
    "host, expected",
    [
        ("evil.example", 403),  # a name rebound to 127.0.0.1 by a page's DNS: refused even with the token
        ("evil.example:{port}", 403),
        ("10.0.0.1", 403),  # an address, but not this machine's loopback
        ("localhost:{port}", 200),  # the local names still work
        ("127.0.0.1:{port}", 200),
        ("[::1]:{port}", 200),
    ],
)
def test_the_server_refuses_a_host_that_is_not_a_local_name_even_with_the_token(calculator, host, expected):
    """jupyter_server's ``allow_remote_access=False`` (its default when bound to 127.0.0.1) checks ``Host``:
    a DNS-rebinding page that has learned the token still cannot use it."""
    url, _ = calculator
    assert status(url, host=host.format(port=urlsplit(url).port)) == expected


def test_the_kernel_api_checks_the_host_too(calculator):
    url, _ = calculator
    base, token = url.split("?")
    api = f"{base}api/kernels/{uuid.uuid4()}?{token}"
    assert status(api, host="evil.example") == 403
    assert status(api) == 404  # answered: no such kernel


@pytest.mark.browser
def test_the_page_loads_nothing_from_another_host(calculator, browser):
    url, _ = calculator
    hosts = set()
    page = browser.new_page()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname))
    page.goto(url, wait_until="networkidle", timeout=120_000)
    page.wait_for_timeout(2000)
    page.close()
    assert hosts - {None} == {"127.0.0.1"}
