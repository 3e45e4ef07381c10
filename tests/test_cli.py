"""The ivig-kit command line: scores the bundled example, rejects bad input with exit 2 and no traceback."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from ivig_kit.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "data" / "example_visits.csv"
REQUIRED_OUTPUT = [
    "site",
    "patient_id",
    "week",
    "tis",
    "category",
    "physician_global_points",
    "patient_global_points",
    "mmt_points",
    "haq_points",
    "enzyme_points",
    "extramuscular_points",
]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ivig_kit.cli", *map(str, args)], capture_output=True, text=True)


def test_tis_scores_the_bundled_example(tmp_path):
    out = tmp_path / "scores.csv"
    result = run_cli("tis", EXAMPLE, "--out", out)
    assert result.returncode == 0, result.stderr
    scores = pd.read_csv(out, dtype={"site": str, "patient_id": str})
    assert list(scores.columns[:11]) == REQUIRED_OUTPUT  # headline first, then per-measure points
    assert list(scores.columns[11:13]) == ["points_of_scored_measures", "n_missing_csms"]
    visits = pd.read_csv(EXAMPLE, dtype=str)
    assert len(scores) == len(visits) - visits[["site", "patient_id"]].drop_duplicates().shape[0]
    assert "001" in set(scores["patient_id"])  # leading zeros survive the round trip
    first = scores.iloc[0]
    assert (first["patient_id"], first["week"], first["tis"], first["category"]) == ("001", 4, 47.5, "moderate")


def test_population_and_enzyme_options_reach_the_output(tmp_path):
    out = tmp_path / "scores.csv"
    assert (
        main(
            [
                "tis",
                str(EXAMPLE),
                "--out",
                str(out),
                "--population",
                "juvenile",
                "--enzyme-normalisation",
                "uln_range",
                "--uln-multiplier",
                "5",
            ]
        )
        == 0
    )
    scores = pd.read_csv(out)
    assert set(scores["population"]) == {"juvenile"}
    assert set(scores["enzyme_normalisation"]) == {"uln_range(x5)"}


def test_tis_prints_a_summary_without_out():
    result = run_cli("tis", EXAMPLE)
    assert result.returncode == 0
    assert result.stdout.splitlines()[0].split() == REQUIRED_OUTPUT


@pytest.mark.parametrize(
    "content, located",
    [
        ("site,patient_id,week\nA,1,0\n", "none of the six core set measures has a column"),
        (EXAMPLE.read_text().replace("AMS,001,4,4.2,", "AMS,001,4,11,"), "row 2 (line 3), column 'physician_global'"),
        ("", "the file is empty"),
    ],
)
def test_bad_input_exits_2_with_one_located_line(tmp_path, content, located):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = run_cli("tis", path, "--out", tmp_path / "scores.csv")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ivig-kit: error: bad.csv: ") and located in lines[0]
    assert not (tmp_path / "scores.csv").exists()


@pytest.mark.parametrize("command", [[], ["tis"]])
def test_every_command_has_help(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0 and "usage: ivig-kit" in result.stdout


def test_scores_write_to_parquet_and_excel_with_identifiers_as_literal_text(tmp_path):
    from openpyxl import load_workbook

    hostile = EXAMPLE.read_text().replace("NIJ,012,", 'NIJ,"=HYPERLINK(""http://x"",""y"")",')
    source = tmp_path / "visits.csv"
    source.write_text(hostile)
    for name in ("scores.parquet", "scores.xlsx", "scores.csv"):
        assert main(["tis", str(source), "--out", str(tmp_path / name)]) == 0
    parquet = pd.read_parquet(tmp_path / "scores.parquet")
    assert list(parquet.columns[:5]) == ["site", "patient_id", "week", "tis", "category"]
    sheet = load_workbook(tmp_path / "scores.xlsx").active
    header = [c.value for c in sheet[1]]
    ids = [row[header.index("patient_id")] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in ids] == parquet["patient_id"].tolist()
    assert ids[0].value == "001" and ids[0].data_type == "s"
    assert ids[-1].value == '=HYPERLINK("http://x","y")' and ids[-1].data_type == "s"  # text, not a formula
    csv = pd.read_csv(tmp_path / "scores.csv", dtype={"patient_id": str})
    assert csv["patient_id"].tolist() == parquet["patient_id"].tolist()
    assert csv["tis"].equals(parquet["tis"])


def test_percentages_are_written_with_two_decimals(tmp_path):
    out = tmp_path / "scores.csv"
    assert main(["tis", str(EXAMPLE), "--out", str(out)]) == 0
    percents = pd.read_csv(out, dtype=str)[[c for c in pd.read_csv(out).columns if c.endswith("_percent")]]
    decimals = percents.stack().str.partition(".")[2].str.len()
    assert decimals.max() == 2 and "16.67" in percents["haq_percent"].tolist()  # HAQ 1.0 -> 0.5 of 3


def test_out_equal_to_the_input_is_refused_and_the_input_kept(tmp_path, capsys):
    source = tmp_path / "visits.csv"
    source.write_text(EXAMPLE.read_text())
    assert main(["tis", str(source), "--out", str(tmp_path / "." / "visits.csv")]) == 2
    assert source.read_text() == EXAMPLE.read_text()
    assert "refusing to overwrite an input" in capsys.readouterr().err


@pytest.mark.parametrize("out", ["link", "/dev/null", "folder"])
def test_out_on_a_symlink_device_or_folder_is_refused(tmp_path, capsys, out):
    target = tmp_path / "kept.csv"
    target.write_text("kept")
    (tmp_path / "link.csv").symlink_to(target)
    (tmp_path / "folder.csv").mkdir()
    path = {"link": tmp_path / "link.csv", "folder": tmp_path / "folder.csv"}.get(out, Path(out))
    assert main(["tis", str(EXAMPLE), "--out", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing" in err[0]
    assert target.read_text() == "kept" and (tmp_path / "link.csv").is_symlink() and Path("/dev/null").is_char_device()


def test_unknown_output_format_is_refused_before_reading(tmp_path, capsys):
    assert main(["tis", str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "scores.json")]) == 2
    assert "unknown output format '.json'; name it *.csv, *.parquet or *.xlsx" in capsys.readouterr().err


@pytest.mark.parametrize(
    "failure, status, message",
    [
        (KeyboardInterrupt, 130, "ivig-kit: interrupted; no output file was written or changed"),
        (
            OSError(28, "No space left on device"),
            1,
            "ivig-kit: error: could not write {out}: No space left on device; nothing was written",
        ),
    ],
)
def test_a_failed_or_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch, capsys, failure, status, message):
    out = tmp_path / "scores.csv"
    out.write_text("previous scores")

    def half_then_fail(scores, path):
        Path(path).write_text("half")
        raise failure

    monkeypatch.setattr("ivig_kit.score.outputs.write_scores", half_then_fail)
    assert main(["tis", str(EXAMPLE), "--out", str(out)]) == status
    assert capsys.readouterr().err.strip().splitlines() == [message.format(out=out)]
    assert out.read_text() == "previous scores" and [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_sigterm_while_writing_stops_with_one_line_and_no_partial_file(tmp_path, monkeypatch, capsys):
    import os
    import signal

    out = tmp_path / "scores.parquet"
    out.write_text("previous scores")
    before = signal.getsignal(signal.SIGTERM)

    def half_then_terminated(scores, path):
        Path(path).write_text("half")
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill` from another terminal would

    monkeypatch.setattr("ivig_kit.score.outputs.write_scores", half_then_terminated)
    assert main(["tis", str(EXAMPLE), "--out", str(out)]) == 128 + signal.SIGTERM
    assert capsys.readouterr().err.strip().splitlines() == [
        "ivig-kit: stopped by SIGTERM; no output file was written or changed"
    ]
    assert out.read_text() == "previous scores" and [p.name for p in tmp_path.iterdir()] == ["scores.parquet"]
    assert signal.getsignal(signal.SIGTERM) is before  # main() gives the caller its handler back


def test_importing_the_command_line_does_not_import_pandas():
    """Python imports pandas in ~0.5 s; a Ctrl-C then would print a traceback before the kit could handle it."""
    code = "import sys, ivig_kit.cli; print('pandas' in sys.modules, 'numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


@pytest.mark.parametrize(
    "option, message",
    [
        (["--uln-multiplier", "inf"], "uln_multiplier (all enzymes) must be a finite number in (0, 1000], not inf"),
        (["--uln-multiplier", "crp=3"], "uln multiplier for 'crp': not an enzyme"),
        (
            ["--enzyme-normalisation", "relative", "--uln-multiplier", "5"],
            "--uln-multiplier and --enzyme-preset apply to --enzyme-normalisation uln_range, not relative",
        ),
    ],
)
def test_impossible_enzyme_options_exit_2(tmp_path, capsys, option, message):
    assert main(["tis", str(EXAMPLE), "--out", str(tmp_path / "s.csv"), *option]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "s.csv").exists()


def test_enzyme_preset_and_per_enzyme_multipliers_reach_the_output(tmp_path):
    out = tmp_path / "scores.csv"
    assert (
        main(
            [
                "tis",
                str(EXAMPLE),
                "--out",
                str(out),
                "--enzyme-preset",
                "r-implementation",
                "--uln-multiplier",
                "aldolase=5",
            ]
        )
        == 0
    )
    assert set(pd.read_csv(out)["enzyme_normalisation"]) == {"uln_range(ck x15, aldolase x5, alt x3, ast x3, ldh x3)"}


def test_a_redcap_style_export_scores_through_the_mapping(tmp_path):
    out = tmp_path / "scores.csv"
    assert (
        main(
            [
                "tis",
                str(REPO / "data" / "example_redcap_export.csv"),
                "--mapping",
                str(REPO / "data" / "example_mapping.yaml"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    reference = tmp_path / "reference.csv"
    assert main(["tis", str(EXAMPLE), "--out", str(reference)]) == 0
    assert pd.read_csv(out)["tis"].equals(pd.read_csv(reference)["tis"])


def test_an_absent_measure_is_a_note_not_a_rejection(tmp_path, capsys):
    frame = pd.read_csv(EXAMPLE, dtype=str).drop(columns=["haq"])
    source = tmp_path / "visits.csv"
    frame.to_csv(source, index=False)
    assert main(["tis", str(source), "--out", str(tmp_path / "s.csv")]) == 0
    assert "note: visits.csv has no 'haq' column: that measure is missing on every visit" in capsys.readouterr().err


def test_every_problem_is_printed_at_once_with_exit_2(tmp_path):
    bad = EXAMPLE.read_text().replace("AMS,001,4,4.2,", "AMS,001,-1,4.2,").replace(",1.5,121,", ",4,121,")
    path = tmp_path / "bad.csv"
    path.write_text(bad)
    result = run_cli("tis", path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line.split(", column ")[1].split(":")[0] for line in lines[:-1]] == ["'week'", "'haq'"]
    assert lines[-1] == "ivig-kit: error: bad.csv: 2 problems (2 cells or rows); nothing was scored"


def test_help_names_the_real_world_options_and_version():
    result = run_cli("tis", "--help")
    for option in ("--sep", "--decimal", "--encoding", "--vas-unit", "--mapping", "--enzyme-preset", ".xlsx"):
        assert option in result.stdout
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("ivig-kit ")


def test_a_european_export_is_read_with_a_note_saying_how(tmp_path, capsys):
    text = EXAMPLE.read_text()
    lines = [line.replace(",", ";") for line in text.splitlines()]
    european = "\n".join(lines[:1] + [__import__("re").sub(r"(\d)\.(\d)", r"\1,\2", line) for line in lines[1:]])
    source = tmp_path / "export.csv"
    source.write_text(european + "\n", encoding="utf-8")
    assert main(["tis", str(source), "--out", str(tmp_path / "eu.csv")]) == 0
    assert "note: export.csv: read as semicolon-separated with decimal commas" in capsys.readouterr().err
    assert main(["tis", str(EXAMPLE), "--out", str(tmp_path / "reference.csv")]) == 0
    assert pd.read_csv(tmp_path / "eu.csv")["tis"].equals(pd.read_csv(tmp_path / "reference.csv")["tis"])


def test_deterioration_options_and_unknowns_reach_every_output_format(tmp_path):
    from openpyxl import load_workbook

    source = tmp_path / "visits.csv"
    source.write_text(
        "site,patient_id,week,physician_global,patient_global,extramuscular,haq,mmt,mmt_max,ck,ck_uln\n"
        "A,1,0,2,2,0.5,0.5,140,150,300,200\n"
        "A,1,4,3,3,0.5,0.75,140,150,300,200\n"  # 50% worse relative to baseline, 8-10% of range
        "A,1,8,3,3,0.5,,140,150,300,200\n"
    )  # HAQ not recorded
    for name in ("scores.parquet", "scores.xlsx", "scores.csv"):
        assert (
            main(
                [
                    "tis",
                    str(source),
                    "--out",
                    str(tmp_path / name),
                    "--deterioration-reading",
                    "baseline",
                    "--deterioration-confirmation",
                    "same",
                ]
            )
            == 0
        )
    csv = pd.read_csv(tmp_path / "scores.csv")
    assert csv["deterioration_reading"].tolist() == ["baseline", "baseline"]
    assert csv["deterioration_confirmation"].tolist() == ["same", "same"]
    # week 4: three CSMs 50% worse (met); week 8: two worse, HAQ unknown: met or not, the file stays empty
    assert csv["deterioration_criteria_met"].tolist()[0] is True and pd.isna(csv["deterioration_criteria_met"][1])
    assert pd.isna(csv["confirmed_deterioration"][1]) and csv["deterioration_unknown"].tolist() == [False, True]
    parquet = pd.read_parquet(tmp_path / "scores.parquet")
    assert parquet["confirmed_deterioration"].isna().tolist() == [False, True]
    sheet = load_workbook(tmp_path / "scores.xlsx").active
    header = [c.value for c in sheet[1]]
    assert [row[header.index("confirmed_deterioration")].value for row in sheet.iter_rows(min_row=2)] == [False, None]
    assert main(["tis", str(source), "--out", str(tmp_path / "range.csv")]) == 0
    assert pd.read_csv(tmp_path / "range.csv")["deterioration_criteria_met"].tolist()[0] is False


# --- ivig-kit reports (the batch's own behaviour is tested in tests/reports/runner) ----------------------------


def test_reports_help_names_every_option_and_the_kits_defaults(capsys):
    from ivig_kit.reports.content.parameters import MIN_CELL_SIZE
    from ivig_kit.reports.runner.tasks import CELL_TIMEOUT_S

    with pytest.raises(SystemExit) as exit_:
        main(["reports", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for option in (
        "--out",
        "--sites",
        "--jobs",
        "--scheduler",
        "--notebook",
        "--population",
        "--adverse-events",
        "--params",
        "--min-cell-size",
        "--cell-timeout",
        "--force",
    ):
        assert option in text
    assert "index.html" in text and "Exit status" in text
    # the defaults shown are the kit's one home of each fact, not numbers typed again here
    assert f"each report shows (default: {MIN_CELL_SIZE})" in text
    assert f"before the site fails (default: {CELL_TIMEOUT_S})" in text


def test_reports_defaults_are_the_kits_constants():
    from ivig_kit.cli import build_parser
    from ivig_kit.reports.content.parameters import MIN_CELL_SIZE
    from ivig_kit.reports.runner.tasks import CELL_TIMEOUT_S

    args = build_parser().parse_args(["reports", str(EXAMPLE), "--out", "x"])
    assert (args.min_cell_size, args.cell_timeout) == (MIN_CELL_SIZE, CELL_TIMEOUT_S)


def test_reports_jobs_must_be_a_positive_number(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["reports", str(EXAMPLE), "--out", "x", "--jobs", "0"])
    assert exit_.value.code == 2
    assert "expected a whole number >= 1" in capsys.readouterr().err
