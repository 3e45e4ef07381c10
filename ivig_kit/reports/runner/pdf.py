"""PDFs of the report pages (``--pdf``): A4, printed by one headless Chromium driven by Playwright, JavaScript
off and nothing but local files loaded."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from ivig_kit.errors import ReportSetupError
from ivig_kit.files import partial_path
from ivig_kit.reports.runner.file_names import is_own_file_name
from ivig_kit.reports.runner.tasks import SiteResult

#: Where ``--pdf`` looks for Chromium (``$IVIG_KIT_CHROMIUM`` first), and the flags a closed, rootful
#: container needs.
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> Path:
    """The headless Chromium (and Playwright, which drives it) that ``--pdf`` needs; a
    :class:`~ivig_kit.errors.ReportSetupError` with one clear line when either is missing."""
    configured = os.environ.get("IVIG_KIT_CHROMIUM")
    candidates = [configured] if configured else [*CHROMIUM_PATHS, shutil.which("chromium") or ""]
    found = next((Path(c) for c in candidates if c and os.access(c, os.X_OK) and Path(c).is_file()), None)
    if found is None:
        where = configured or ", ".join(CHROMIUM_PATHS)
        raise ReportSetupError(
            f"--pdf needs headless Chromium, not found at {where}: install it (Debian: apt-get "
            f"install chromium) or set IVIG_KIT_CHROMIUM to its path, or drop --pdf"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise ReportSetupError(
            "--pdf needs the Playwright package to drive Chromium: pip install 'ivig-kit[pdf]' "
            "(no browser download needed), or drop --pdf"
        ) from None
    return found


@contextlib.contextmanager
def pdf_printer(chromium: Path | None = None):
    """Yield ``print(html_path, pdf_path)``, printing pages to A4 PDF with one headless Chromium (JavaScript
    off, nothing but local files loaded). Each PDF is written under a temporary name and renamed into place."""
    from playwright.sync_api import sync_playwright

    chromium = chromium or find_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=list(CHROMIUM_ARGS), headless=True)
        try:
            context = browser.new_context(java_script_enabled=False)
            context.route(
                "**/*",
                lambda route: route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort(),
            )

            def print_pdf(html_path, pdf_path) -> Path:
                html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
                partial = partial_path(pdf_path.parent, pdf_path.name)
                page = context.new_page()
                try:
                    page.goto(html_path.as_uri(), wait_until="load")
                    page.emulate_media(media="print")
                    page.pdf(
                        path=str(partial), prefer_css_page_size=True, print_background=True, outline=True, tagged=True
                    )
                    os.replace(partial, pdf_path)
                finally:
                    page.close()
                    with contextlib.suppress(FileNotFoundError):
                        partial.unlink()
                return pdf_path

            yield print_pdf
        finally:
            browser.close()


def export_site_pdfs(out_dir, results: list[SiteResult]) -> None:
    """Print the report of every successful site to ``<slug>.pdf`` beside its HTML (one Chromium for all).
    A site whose PDF fails is marked failed with the error; its earlier PDF, if any, stays."""
    out_dir = Path(out_dir)
    done = [r for r in results if r.ok]
    for result in done:  # a name that is not the kit's own never becomes a path (the ledger is checked too)
        if not is_own_file_name(result.files.get("html")) or not result.files["html"].endswith(".html"):
            _pdf_failed(result, ReportSetupError(f"{result.files.get('html')!r} is not the kit's own report name"))
    done = [r for r in done if r.ok]
    if not done:
        return
    try:
        with pdf_printer() as print_pdf:
            for result in done:
                html_name = result.files["html"]
                pdf_name = str(Path(html_name).with_suffix(".pdf"))
                try:
                    if not stat.S_ISREG(os.lstat(out_dir / html_name).st_mode):
                        raise ReportSetupError(f"{html_name}: not a regular file; the kit does not follow links")
                    print_pdf(out_dir / html_name, out_dir / pdf_name)
                    result.files = {**result.files, "pdf": pdf_name}
                except Exception as error:  # a page Chromium cannot print: this site fails, the others go on
                    _pdf_failed(result, error)
    except Exception as error:  # Chromium would not start, or died: every site still without its PDF fails
        for result in done:
            if result.ok and "pdf" not in result.files:
                _pdf_failed(result, error)


def _pdf_failed(result: SiteResult, error: Exception) -> None:
    lines = str(error).strip().splitlines()
    result.status = "failed"
    result.error = {
        "kind": "pdf",
        "ename": type(error).__name__,
        "evalue": "PDF not written: " + (lines[0] if lines else "no message"),
        "cell_index": None,
    }
