"""Edges of the batch and the command line: scheduler handshakes, paths that are not files, the adverse-event
table's bounds, Excel's row limit, inputs that would be outputs, the published URL, interrupts in the PDF phase."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from ivig_kit import errors
from ivig_kit.cli import build_parser, main
from ivig_kit.reports.content.adverse_events import read_adverse_events
from ivig_kit.reports.runner import batch as batch_module
from ivig_kit.reports.runner import pages, pdf, prepare, scheduler
from ivig_kit.reports.runner.tasks import site_slug

from .trust_fixtures import EXAMPLE, tiny_notebook, tiny_registry


@pytest.fixture
def fake_server():
    """Factory: a loopback server that, to every connection, says nothing, answers HTTP, or sends junk."""
    servers, threads, held = [], [], []

    def start(kind: str) -> str:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        servers.append(listener)

        def serve():
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                held.append(connection)  # kept open: a silent peer never closes
                if kind == "http":
                    connection.recv(4096)
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello")
                elif kind == "junk":
                    connection.sendall(bytes(range(256)) * 40)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        threads.append(thread)
        return f"tcp://127.0.0.1:{listener.getsockname()[1]}"

    yield start
    for listener in servers:
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept(), which close() does not
        listener.close()
    for thread in threads:
        thread.join(timeout=5)
    for connection in held:  # closed here: left to the collector, each was a ResourceWarning in a later test
        connection.close()


@pytest.mark.parametrize("kind", ["silent", "http", "junk"])
def test_a_scheduler_that_is_not_dask_fails_within_the_handshake_time_with_one_message(fake_server, kind):
    address = fake_server(kind)
    started = time.monotonic()
    with pytest.raises(errors.ReportSetupError) as caught:
        scheduler.check_scheduler(address, timeout=1.0)
    assert time.monotonic() - started < 3.5
    assert str(caught.value) == (
        f"cannot use the dask scheduler at {address!r}: no dask scheduler completed a "
        f"handshake there within 1 s; give the scheduler's own address (tcp://host:8786, "
        f"or tls://host:8786 with certificates), not its dashboard"
    )


def test_the_command_says_so_in_one_line_before_any_site_runs(fake_server, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(scheduler, "HANDSHAKE_S", 1.0)
    notebook = tiny_notebook(tmp_path / "tiny.ipynb")
    data = tiny_registry(tmp_path / "registry.csv", ["North"])
    code = main(
        [
            "reports",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--notebook",
            str(notebook),
            "--quiet",
            "--scheduler",
            fake_server("silent"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "no dask scheduler completed a handshake" in err
    assert not (tmp_path / "out").exists()


def test_help_says_what_leaves_the_machine_with_a_scheduler(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["reports", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "every site's patient rows and the notebook are sent to the cluster" in text
    assert "tls://host:8786 encrypts them" in text and "plain text" in text


@pytest.mark.parametrize("option", ["--notebook", "--params", "--adverse-events", "data"])
def test_a_device_is_named_as_not_a_regular_file(tmp_path, capsys, option):
    data = tiny_registry(tmp_path / "registry.csv", ["North"])
    arguments = ["reports", "/dev/zero" if option == "data" else str(data), "--out", str(tmp_path / "out"), "--quiet"]
    if option != "data":
        arguments += [option, "/dev/zero"]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert "/dev/zero: is not a regular file (a device, pipe or socket)" in err and "not found" not in err
    assert main(["tis", "/dev/zero"]) == 2
    assert "/dev/zero: is not a regular file" in capsys.readouterr().err


def test_adverse_events_get_the_visit_tables_bounds_all_at_once(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "site,patient_id,week,event\nA,001,-5,rash\nA,001,4,\nA,001,4, \nA,001,1e9,fever\n", encoding="utf-8"
    )
    with pytest.raises(errors.AdverseEventTableError) as caught:
        read_adverse_events(path)
    assert str(caught.value).splitlines() == [
        "events.csv: rows 2 and 3, column 'event': expected the event's description (not empty), got ''",
        "events.csv: rows 1 and 4, column 'week': expected a week in 0-2600, got '-5'",
        "events.csv: 2 problems; nothing was run",
    ]


def test_an_adverse_event_csv_over_the_size_cap_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("IVIG_KIT_MAX_UNCOMPRESSED_MB", raising=False)
    data = tiny_registry(tmp_path / "registry.csv", ["North"])
    events = tmp_path / "events.csv"
    with events.open("wb") as handle:  # 300 MiB that cost no disk: a header, then a hole
        handle.write(b"site,patient_id,week,event\n")
        handle.truncate(300 * 1024 * 1024)
    started = time.perf_counter()
    code = main(["reports", str(data), "--out", str(tmp_path / "out"), "--quiet", "--adverse-events", str(events)])
    took = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 2 and err.splitlines() == [
        "ivig-kit: error: events.csv: the file is 315 MB, over the cap of 256 MB; if the file is genuine, "
        "raise it with IVIG_KIT_MAX_UNCOMPRESSED_MB=300"
    ]
    assert took < 5, f"took {took:.1f} s"  # the registry is read first; the 300 MiB never are
    assert not (tmp_path / "out" / "index.json").exists()


@pytest.mark.parametrize(
    "cap, refused",
    [
        (
            "IVIG_KIT_MAX_ROWS=3",
            "more than 3 rows, over the cap of 3 rows; if the file is genuine, raise it with IVIG_KIT_MAX_ROWS=6",
        ),
        (
            "IVIG_KIT_MAX_COLUMNS=4",
            "5 columns, over the cap of 4 columns; if the file is genuine, raise it with IVIG_KIT_MAX_COLUMNS=5",
        ),
        (
            "IVIG_KIT_MAX_UNCOMPRESSED_MB=1",
            "the file is 2 MB, over the cap of 1 MB; if the file is genuine, "
            "raise it with IVIG_KIT_MAX_UNCOMPRESSED_MB=2",
        ),
    ],
    ids=["rows", "columns", "size"],
)
def test_adverse_event_rows_columns_and_size_are_capped_like_the_visit_tables(tmp_path, monkeypatch, cap, refused):
    path = tmp_path / "events.csv"
    text = "x" * 400_000  # 4 rows of 400 kB: 1.6 MB in all
    path.write_text(
        "site,patient_id,week,event,serious\n" + "".join(f"A,00{i},4,{text},no\n" for i in range(4)), encoding="utf-8"
    )
    variable, value = cap.split("=")
    monkeypatch.setenv(variable, value)
    with pytest.raises(errors.AdverseEventTableError) as caught:
        read_adverse_events(path)
    assert str(caught.value) == f"events.csv: {refused}"
    monkeypatch.setenv(variable, refused.rsplit("=", 1)[1])  # raised as the message says: read
    assert len(read_adverse_events(path)) == 4


def test_events_of_unknown_patients_are_located_not_dropped(tmp_path, capsys):
    notebook = tiny_notebook(tmp_path / "tiny.ipynb")
    data = tiny_registry(tmp_path / "registry.csv", ["North", "South"])
    (tmp_path / "events.csv").write_text(
        "site,patient_id,week,event\nNorth,P00,4,rash\nNorth,P01,4,fever\n", encoding="utf-8"
    )
    code = main(
        [
            "reports",
            str(data),
            "--out",
            str(tmp_path / "out"),
            "--notebook",
            str(notebook),
            "--quiet",
            "--adverse-events",
            str(tmp_path / "events.csv"),
        ]
    )
    err = capsys.readouterr().err
    assert (
        code == 2
        and "events.csv: row 2, columns 'site', 'patient_id': patient 'P01' of site 'North' is not "
        "in the visit table registry.csv"
        in err
    )


def test_identifiers_match_across_tables_and_sites_under_nfkc(tmp_path):
    notebook = tiny_notebook(tmp_path / "tiny.ipynb")
    data = tiny_registry(tmp_path / "registry.csv", ["North", "South"])
    (tmp_path / "events.csv").write_text("site,patient_id,week,event\nＮｏｒｔｈ,Ｐ００,4,rash\n", encoding="utf-8")
    batch = prepare.prepare_batch(
        data, tmp_path / "out", sites=["Ｎｏｒｔｈ"], notebook=notebook, adverse_events_path=tmp_path / "events.csv"
    )
    assert [t.site for t in batch.tasks] == ["North"]
    task = batch.with_inputs(batch.tasks)[0]
    assert len(pd.read_parquet(__import__("io").BytesIO(task.events_slice))) == 1


def test_an_excel_output_too_small_is_refused_before_scoring_naming_the_users_file(tmp_path, capsys, monkeypatch):
    from ivig_kit.score import engine, outputs

    monkeypatch.setattr(outputs, "EXCEL_MAX_ROWS", 3)
    monkeypatch.setattr(engine, "total_improvement_score", lambda *a, **k: pytest.fail("scored first"))
    out = tmp_path / "x.xlsx"
    assert main(["tis", str(EXAMPLE), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}: an Excel sheet holds 3 rows of scores under its header, and example_visits.csv has" in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_an_input_is_never_an_output(tmp_path, capsys):
    data = tiny_registry(tmp_path / "registry.csv", ["North"])
    out = tmp_path / "out"
    out.mkdir()
    notebook = tiny_notebook(out / f"{site_slug('North')}.ipynb")  # a report's notebook, edited and re-used
    before = notebook.read_bytes()
    assert main(["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{notebook}: is the batch's own output out/{notebook.name}; an input is never overwritten" in err
    assert notebook.read_bytes() == before


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "file:///etc/passwd", 'https://x.org/"onmouseover=x', "//evil.example"]
)
def test_the_published_url_must_be_http(tmp_path, capsys, monkeypatch, url):
    monkeypatch.setenv("IVIG_KIT_PUBLISHED_URL", url)
    data = tiny_registry(tmp_path / "registry.csv", ["North"])
    assert main(["reports", str(data), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    assert "IVIG_KIT_PUBLISHED_URL must be an http:// or https:// address" in capsys.readouterr().err
    monkeypatch.setenv("IVIG_KIT_PUBLISHED_URL", "https://github.com/ivig-kit/ivig-kit/blob/main")
    assert pages.published_url_setting() == "https://github.com/ivig-kit/ivig-kit/blob/main"


@pytest.mark.slow
def test_an_interrupt_in_the_pdf_phase_reports_what_finished_and_leaves_an_index(tmp_path, capsys, monkeypatch):
    notebook = tiny_notebook(tmp_path / "tiny.ipynb")
    data = tiny_registry(tmp_path / "registry.csv", ["North", "South"])

    class InterruptedPrinter:
        """The batch's PDF printer, interrupted while it prints the last PDFs."""

        def __init__(self, out):
            self.added = []

        def add(self, result):
            self.added.append(result)

        def finish(self):
            raise errors.Interrupted(signal.SIGINT)

        def stop(self):
            pass

    monkeypatch.setattr(pdf, "find_chromium", lambda: Path("/usr/bin/chromium"))
    monkeypatch.setattr(batch_module, "SitePdfs", InterruptedPrinter)
    out = tmp_path / "out"
    code = main(["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet", "--pdf"])
    err = capsys.readouterr().err
    assert code == 130 and "stopped by SIGINT: 2 of 2 site(s) finished" in err
    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count('data-status="ok"') == 2


def test_a_nested_parquet_adverse_event_column_is_located(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table({"site": ["A"], "patient_id": [["1"]], "week": [1.0], "event": ["rash"]}), tmp_path / "events.parquet"
    )
    with pytest.raises(
        errors.AdverseEventTableError,
        match=r"^events.parquet: column 'patient_id' is a nested "
        r"Parquet type \(list<element: string>\)",
    ):
        read_adverse_events(tmp_path / "events.parquet")
