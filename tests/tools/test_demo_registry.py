"""The synthetic demo registry: deterministic, valid, awkward where a real registry is awkward, and in sync
with the committed files in ``data/``."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from ivig_kit.score.engine import total_improvement_score
from ivig_kit.score.visits import read_visits, validate_visits
from ivig_kit.tools import demo_registry

DATA = demo_registry.DATA_DIR


@pytest.fixture(scope="module")
def generated():
    return demo_registry.generate_demo_registry()


@pytest.fixture(scope="module")
def committed():
    visits = read_visits(DATA / demo_registry.REGISTRY_FILE)
    events = pd.read_csv(DATA / demo_registry.ADVERSE_EVENTS_FILE, dtype=str, keep_default_na=False)
    return visits, events


def test_same_seed_same_tables_and_another_seed_differs(generated):
    visits, events = generated
    again_visits, again_events = demo_registry.generate_demo_registry(demo_registry.DEFAULT_SEED)
    pd.testing.assert_frame_equal(visits, again_visits)
    pd.testing.assert_frame_equal(events, again_events)
    other, _ = demo_registry.generate_demo_registry(seed=demo_registry.DEFAULT_SEED + 1)
    assert not other[["physician_global", "mmt"]].equals(visits[["physician_global", "mmt"]])


def test_committed_files_are_what_the_generator_writes(tmp_path):
    written = demo_registry.write_demo_registry(tmp_path)
    for path in written:
        assert path.read_bytes() == (DATA / path.name).read_bytes(), (
            f"data/{path.name} is stale: regenerate it with python -m ivig_kit.tools.demo_registry"
        )


def test_generated_table_passes_the_kit_validation(generated):
    visits, _ = generated
    validated = validate_visits(visits, source="demo")
    assert len(validated) == len(visits)


def test_sizes_sites_and_files(committed):
    visits, events = committed
    sizes = visits.groupby("site")["patient_id"].nunique()
    assert len(sizes) >= 8
    assert sizes.nunique() >= 6, "sites should differ in size"
    assert 200 <= sizes.sum() <= 500
    assert set(visits["week"]) >= {0, 4, 8, 12, 16, 24}
    assert visits["week"].max() == 24
    for name in (demo_registry.REGISTRY_FILE, demo_registry.ADVERSE_EVENTS_FILE):
        assert (DATA / name).stat().st_size < 400_000
    assert 0 < len(events) < len(visits)


def test_site_names_are_awkward_on_purpose(committed):
    sites = set(committed[0]["site"])
    assert "Nijmegen UMC" in sites and "Zürich" in sites
    assert any(" " in s for s in sites) and any(not s.isascii() for s in sites)


def test_patient_ids_are_strings_with_leading_zeros_and_unique_across_sites(committed):
    visits, events = committed
    ids = visits["patient_id"]
    assert all(isinstance(i, str) and re.fullmatch(r"[A-Z]{3}-\d{3}", i) for i in ids)
    assert "AMS-007" in set(ids) or ids.str.contains(r"-00\d").any()
    assert visits.groupby("patient_id")["site"].nunique().max() == 1
    assert events["patient_id"].str.fullmatch(r"[A-Z]{3}-\d{3}").all()


def test_each_site_has_one_mmt_scale_and_all_three_scales_occur(committed):
    visits = committed[0]
    per_site = visits.groupby("site")["mmt_max"].unique()
    assert all(len(scales) == 1 for scales in per_site)
    assert {scales[0] for scales in per_site} == {80, 150, 260}
    assert (visits["ck_uln"] > 0).all()


def test_two_arms_four_subtypes_and_the_synthetic_label(committed):
    visits = committed[0]
    assert set(visits["arm"]) == {"IVIg", "placebo"}
    assert set(visits["subtype"]) == {"DM", "IMNM", "ASS", "NM/OM"}
    assert set(visits["data_source"]) == {"synthetic demo registry (not real patients)"}
    assert set(committed[1]["data_source"]) == {"synthetic demo registry (not real patients)"}


def test_imperfect_data_missing_csms_missed_and_out_of_pattern_visits(committed):
    visits = committed[0]
    csms = ["physician_global", "patient_global", "extramuscular", "haq", "mmt", "ck"]
    missing = visits[csms].isna().sum()
    assert (missing > 0).sum() >= 4 and missing.sum() < 0.05 * visits[csms].size
    per_week = visits.groupby("week")["patient_id"].size()
    patients = visits["patient_id"].nunique()
    assert per_week[0] == patients
    assert per_week[8] < patients, "some visits should be missed"
    assert set(visits["week"]) - {0, 4, 8, 12, 16, 24}, "some visits should be out of the pattern"


def test_responders_more_often_on_ivig_and_some_confirmed_deteriorations(committed):
    scores = total_improvement_score(committed[0], validate=False)
    last = scores.dropna(subset=["tis"]).sort_values("week").groupby(["site", "patient_id"]).tail(1)
    rate = (last["tis"] >= 20).groupby(last["arm"]).mean()
    assert rate["IVIg"] > rate["placebo"] + 0.2
    assert 0.6 < rate["IVIg"] < 0.9 and 0.2 < rate["placebo"] < 0.5
    deteriorated = scores.loc[scores["confirmed_deterioration"], ["site", "patient_id"]].drop_duplicates()
    assert 5 <= len(deteriorated) <= 40
    assert deteriorated["site"].nunique() >= 4


def test_adverse_events_belong_to_registry_patients_and_include_thromboses(committed):
    visits, events = committed
    assert list(events.columns) == list(demo_registry.ADVERSE_EVENT_COLUMNS)
    known = set(zip(visits["site"], visits["patient_id"], visits["week"]))
    assert all(key in known for key in zip(events["site"], events["patient_id"], events["week"].astype(float)))
    assert set(events["serious"]) == {"yes", "no"} and set(events["related"]) == {"yes", "no"}
    thromboembolic = events[events["event"].isin(demo_registry.THROMBOEMBOLIC_EVENTS)]
    assert 3 <= len(thromboembolic) <= 20
    assert (thromboembolic["serious"] == "yes").all()


def test_demo_sites_extends_with_numbered_sites():
    sites = demo_registry.demo_sites(24)
    assert len(sites) == 24 and len({s.name for s in sites}) == 24 and len({s.code for s in sites}) == 24
    assert sites[: len(demo_registry.DEMO_SITES)] == demo_registry.DEMO_SITES
    assert demo_registry.demo_sites(3) == demo_registry.DEMO_SITES[:3]
    visits, _ = demo_registry.generate_demo_registry(sites=demo_registry.demo_sites(12))
    first, _ = demo_registry.generate_demo_registry()
    same = visits[visits["site"].isin(set(first["site"]))].reset_index(drop=True)
    pd.testing.assert_frame_equal(same, first)  # adding sites never changes the existing ones


def test_duplicate_site_names_are_refused():
    site = demo_registry.DEMO_SITES[0]
    with pytest.raises(ValueError, match="unique"):
        demo_registry.generate_demo_registry(sites=(site, site))


def test_command_line_writes_both_files(tmp_path, capsys):
    assert demo_registry.main(["--out", str(tmp_path), "--sites", "10"]) == 0
    assert "demo_registry.csv" in capsys.readouterr().out
    visits = read_visits(tmp_path / demo_registry.REGISTRY_FILE)
    assert visits["site"].nunique() == 10
    assert (tmp_path / demo_registry.ADVERSE_EVENTS_FILE).exists()
