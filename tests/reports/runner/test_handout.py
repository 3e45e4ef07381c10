"""Hand-outs: one zip per site with only that site's files; the index says it is the coordinator's view."""

from __future__ import annotations

import zipfile

import pytest

from ivig_kit.cli import main
from ivig_kit.errors import ReportSetupError
from ivig_kit.reports.runner.handout import check_handout_folder
from ivig_kit.reports.runner.tasks import site_slug

from .trust_fixtures import tiny_notebook, tiny_registry


def test_each_site_gets_a_zip_of_its_own_files_only(tmp_path, capsys):
    notebook = tiny_notebook(tmp_path / "tiny.ipynb")
    data = tiny_registry(tmp_path / "registry.csv", ["North", "South"])
    out, handout = tmp_path / "out", tmp_path / "handout"
    code = main(
        ["reports", str(data), "--out", str(out), "--notebook", str(notebook), "--quiet", "--handout", str(handout)]
    )
    printed = capsys.readouterr().out
    assert code == 0 and f"hand-outs: 2 zip(s) in {handout}" in printed and "coordinator's view" in printed
    assert sorted(p.name for p in handout.iterdir()) == sorted(f"{site_slug(s)}.zip" for s in ("North", "South"))
    for site, other in (("North", "South"), ("South", "North")):
        slug = site_slug(site)
        with zipfile.ZipFile(handout / f"{slug}.zip") as archive:
            names = sorted(archive.namelist())
            assert names == sorted(
                f"{slug}/{name}" for name in ("README.txt", f"{slug}.html", f"{slug}.ipynb", f"{slug}.json")
            )
            assert archive.read(f"{slug}/{slug}.html") == (out / f"{slug}.html").read_bytes()
            assert not any("index" in n or site_slug(other) in n for n in names)
            assert f"Site report of {site}" in archive.read(f"{slug}/README.txt").decode()
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Coordinator's view." in page and "do not share this folder" in page


@pytest.mark.parametrize("inside", [".", "handouts", ".."])
def test_a_handout_folder_in_or_around_the_output_folder_is_refused(tmp_path, inside):
    out = tmp_path / "a" / "out"
    with pytest.raises(ReportSetupError, match="must be a folder outside --out"):
        check_handout_folder(out / inside if inside != ".." else out.parent, out)
    assert check_handout_folder(tmp_path / "elsewhere", out) == tmp_path / "elsewhere"
