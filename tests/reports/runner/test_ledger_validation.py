"""The ledger (``index.json``) is input: every row is checked against its schema before anything runs, and a
tampered ledger can make the kit neither link, read nor write outside the output folder."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
from pathlib import Path

import pytest

from ivig_kit.cli import main
from ivig_kit.errors import LedgerError, ReportSetupError
from ivig_kit.reports.runner import file_names, index_page, ledger, pdf
from ivig_kit.reports.runner.ledger_schema import LEDGER_FORMAT, LEDGER_KIND
from ivig_kit.reports.runner.tasks import ReportBatch, SiteResult, site_slug

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "data" / "example_visits.csv"


def good_row(site: str = "North", status: str = "ok") -> dict:
    slug = site_slug(site)
    files = {
        "html": f"{slug}.html",
        "notebook": f"{slug}.ipynb",
        "summary": f"{slug}.json",
        "failed_notebook": f"{slug}.failed.ipynb",
    }
    return SiteResult(
        site=site,
        slug=slug,
        status=status,
        seconds=1.5,
        attempts=1,
        files=files,
        summary={"site": site, "patients": 3, "responder_percent": 50.0},
        made_with={"population": "adult", "min_cell_size": 5, "parameters": {}, "input_hash": "ab" * 32},
        made_at="2026-12-01T08:53:00+00:00",
    ).record()


def write_ledger_file(out: Path, rows) -> bytes:
    out.mkdir(exist_ok=True)
    data = json.dumps(
        {"kind": LEDGER_KIND, "format": LEDGER_FORMAT, "updated_at": "", "latest_run": {}, "sites": rows}
    ).encode("utf-8")
    (out / "index.json").write_bytes(data)
    return data


def tampered(change) -> list:
    row = good_row()
    change(row)
    return [row, good_row("South")]


TAMPERED = {
    "absolute html": (tampered(lambda r: r["files"].update(html="/etc/passwd")), "key 'files.html'"),
    "parent html": (tampered(lambda r: r["files"].update(html="../../secret.html")), "key 'files.html'"),
    "javascript link": (tampered(lambda r: r["files"].update(notebook="javascript:alert(1)")), "'files.notebook'"),
    "file url": (tampered(lambda r: r["files"].update(summary="file:///etc/passwd")), "'files.summary'"),
    "pdf elsewhere": (tampered(lambda r: r["files"].update(pdf="/tmp/x.pdf")), "'files.pdf'"),
    "another site's file": (tampered(lambda r: r["files"].update(html=site_slug("South") + ".html")), "'files.html'"),
    "seconds as text": (tampered(lambda r: r.update(seconds="fast")), "key 'seconds'"),
    "seconds nan": (tampered(lambda r: r.update(seconds=float("nan"))), "key 'seconds'"),
    "files as text": (tampered(lambda r: r.update(files="str")), "key 'files'"),
    "status number": (tampered(lambda r: r.update(status=7)), "key 'status'"),
    "status unknown": (tampered(lambda r: r.update(status="great")), "key 'status'"),
    "attempts bool": (tampered(lambda r: r.update(attempts=True)), "key 'attempts'"),
    "summary list": (tampered(lambda r: r.update(summary=[1, 2])), "key 'summary'"),
    "summary keys": (tampered(lambda r: r.update(summary={1: 2}) or r.update(summary=[{"a": 1}])), "'summary'"),
    "error text": (tampered(lambda r: r.update(error="boom")), "key 'error'"),
    "made_with list": (tampered(lambda r: r.update(made_with=[])), "key 'made_with'"),
    "hash short": (tampered(lambda r: r["made_with"].update(input_hash="abc")), "'made_with.input_hash'"),
    "slug changed": (tampered(lambda r: r.update(slug="../x")), "key 'slug'"),
    "unknown key": (tampered(lambda r: r.update(href="x")), "unknown key"),
    "site number": ([{**good_row(), "site": 42}], "key 'site'"),
    "row not object": (["North"], "sites[0]: expected an object"),
    "duplicate site": ([good_row(), good_row()], "has a row already"),
}


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_a_tampered_ledger_row_is_refused_with_its_location(tmp_path, name):
    rows, where = TAMPERED[name]
    before = write_ledger_file(tmp_path / "out", rows)
    with pytest.raises(LedgerError) as caught:
        ledger.read_ledger(tmp_path / "out")
    message = str(caught.value)
    assert where in message and "index.json" in message and "nothing was run or rewritten" in message
    assert len(message) < 2000 and (tmp_path / "out" / "index.json").read_bytes() == before


@pytest.mark.parametrize("sites", [42, "notalist", None, {"kind": 1}])
def test_a_ledger_whose_sites_are_not_a_list_is_refused(tmp_path, sites):
    write_ledger_file(tmp_path / "out", sites)
    with pytest.raises(LedgerError, match="key 'sites': expected a list"):
        ledger.read_ledger(tmp_path / "out")


def test_a_valid_ledger_reads_back_every_row(tmp_path):
    failed = good_row("Zürich", "failed")  # what the kit itself writes: a long error, a notebook's own summary
    failed["error"] = {"kind": "cell", "ename": "ValueError", "evalue": "x" * 100_000, "cell_index": 3, "exec_count": 3}
    failed["summary"] = {"site": "Zürich", "patients": None, "by_arm": {"IVIg": [1, 2]}}
    write_ledger_file(tmp_path / "out", [good_row(), failed])
    assert list(ledger.read_ledger(tmp_path / "out")["sites"]) == ["North", "Zürich"]


def test_a_tampered_ledger_stops_the_command_before_anything_runs(tmp_path, capsys):
    before = write_ledger_file(tmp_path / "out", TAMPERED["absolute html"][0])
    code = main(["reports", str(EXAMPLE), "--out", str(tmp_path / "out"), "--quiet", "--pdf"])
    printed = capsys.readouterr()
    assert code == 2 and "site(s) of" not in printed.out and "Traceback" not in printed.err
    assert "index.json: sites[0] ('North'), key 'files.html'" in printed.err
    assert (tmp_path / "out" / "index.json").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.json"]


def test_a_symlinked_ledger_or_index_is_refused_up_front(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere.json"
    write_ledger_file(tmp_path / "real", [good_row()])
    os.replace(tmp_path / "real" / "index.json", elsewhere)
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.json").symlink_to(elsewhere)
    code = main(["reports", str(EXAMPLE), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "index.json: is a symbolic link" in err
    (out / "index.json").unlink()
    (out / "index.html").symlink_to(elsewhere)
    with pytest.raises(LedgerError, match=r"index.html: is a symbolic link"):
        ledger.read_ledger(out, force=True)


def test_a_foreign_or_broken_ledger_is_refused_unless_forced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    for text in ('{"kind": "someone else"}', "not json {", "[1, 2]", "[" * 100_000):
        (out / "index.json").write_text(text, encoding="utf-8")
        with pytest.raises(ReportSetupError, match="not a ledger of ivig-kit"):
            ledger.read_ledger(out)
        assert ledger.read_ledger(out, force=True) == {"sites": {}}
    (out / "index.json").unlink()
    os.mkfifo(out / "index.json")  # a reader must not block on it
    with pytest.raises(LedgerError, match="not a regular file"):
        ledger.read_ledger(out)


def batch_for(out: Path, sites: list[str]) -> ReportBatch:
    return ReportBatch(
        data_path=EXAMPLE,
        out_dir=out,
        notebook=REPO / "notebooks" / "site_report.ipynb",
        tasks=[],
        all_sites=sites,
        adverse_events_path=None,
        population="adult",
        data_sha256="0" * 64,
    )


def test_the_index_marks_sites_gone_from_the_registry_and_links_only_own_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    kept, failed = SiteResult.from_record(good_row("Gone")), SiteResult.from_record(good_row("North", "failed"))
    failed.error = {"kind": "cell", "ename": "E", "evalue": "v", "cell_index": 1}
    (out / failed.files["failed_notebook"]).symlink_to("/etc/passwd")  # planted: never linked
    (out / failed.files["html"]).write_text("earlier", encoding="utf-8")
    hostile = SiteResult.from_record(good_row("South"))
    hostile.files = {**hostile.files, "pdf": "javascript:alert(1)", "notebook": "file:///etc/passwd"}
    index_page.write_index(
        batch_for(out, ["North", "South"]),
        [failed, hostile, kept],
        started_at=datetime.datetime.now().astimezone(),
        seconds=1.0,
    )
    page = (out / "index.html").read_text(encoding="utf-8")
    hrefs = [part.split('"')[0] for part in page.split('href="')[1:]]
    assert hrefs and all(file_names.is_own_file_name(h) for h in hrefs)
    assert "javascript:" not in page and "file://" not in page and failed.files["failed_notebook"] not in page
    assert f'href="{failed.files["html"]}">earlier report' in page
    assert page.count('data-gone="true"') == 1 and "not in the current registry" in page


def test_pdf_export_never_reads_or_writes_outside_the_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    secret = tmp_path / "secret.html"
    secret.write_text("secret", encoding="utf-8")
    calls = []

    @contextlib.contextmanager
    def printer(chromium=None):
        yield lambda source, target: calls.append((Path(source), Path(target)))

    monkeypatch.setattr(pdf, "pdf_printer", printer)
    outside = SiteResult.from_record(good_row("North"))
    outside.files = {**outside.files, "html": str(secret)}
    linked = SiteResult.from_record(good_row("South"))
    (out / linked.files["html"]).symlink_to(secret)
    fine = SiteResult.from_record(good_row("East"))
    (out / fine.files["html"]).write_text("<p>ok</p>", encoding="utf-8")
    pdf.export_site_pdfs(out, [outside, linked, fine])
    assert calls == [(out / fine.files["html"], out / f"{fine.slug}.pdf")]
    assert outside.status == linked.status == "failed" and fine.files["pdf"] == f"{fine.slug}.pdf"
