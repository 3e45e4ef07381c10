"""Bundled files are found in a checkout and, failing that, inside an installed package."""

from ivig_kit import resources


def test_checkout_files_are_found_first():
    assert resources.data_path("published_facts.csv") == resources.PACKAGE_DIR.parent / "data" / "published_facts.csv"
    assert resources.notebook_path("site_report.ipynb").exists()


def test_installed_copy_is_used_without_a_checkout(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "ivig_kit"
    (package / "data").mkdir(parents=True)
    (package / "data" / "published_facts.csv").write_text("trial,key\n")
    monkeypatch.setattr(resources, "PACKAGE_DIR", package)
    assert resources.data_path("published_facts.csv") == package / "data" / "published_facts.csv"


def test_a_missing_file_names_the_checkout_path(tmp_path, monkeypatch):
    monkeypatch.setattr(resources, "PACKAGE_DIR", tmp_path / "ivig_kit")
    assert resources.data_path("nothing.csv") == tmp_path / "data" / "nothing.csv"
