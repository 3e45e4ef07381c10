"""A site report built from an item-level registry says which item rules made its totals (issue 23)."""

from pathlib import Path

from ivig_kit.cli import main
from ivig_kit.reports.content.site import load_site
from ivig_kit.reports.content.summary import provenance

ITEMS = Path(__file__).resolve().parents[2] / "data" / "example_items.csv"


def test_provenance_names_the_item_rules(tmp_path):
    registry = tmp_path / "registry.csv"
    assert main(["core-set", str(ITEMS), "--out", str(registry), "--haq-aid-rule", "adi"]) == 0
    table = provenance(load_site("pilot", data_path=str(registry)))["value"]
    assert table["totals from items: mmt"] == "Total MMT 0-260 (MMT-24, IMACS Form 04)"
    assert table["totals from items: haq"].startswith("HAQ-ADI: aids and help ignored")


def test_no_item_rows_for_a_totals_registry(tmp_path):
    table = provenance(load_site("pilot", data_path=str(ITEMS.with_name("pilot_reconstructed_visits.csv"))))
    assert not any(str(item).startswith("totals from items") for item in table.index)
