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

            pages: list = []  # one page, reused: a new page per report would start a renderer each time

            def print_pdf(html_path, pdf_path) -> Path:
                html_path, pdf_path = Path(html_path).resolve(), Path(pdf_path)
                partial = partial_path(pdf_path.parent, pdf_path.name)
                if not pages:
                    pages.append(context.new_page())
                    pages[0].emulate_media(media="print")
                page = pages[0]
                try:
                    page.goto(html_path.as_uri(), wait_until="load")
                    page.pdf(
                        path=str(partial), prefer_css_page_size=True, print_background=True, outline=True, tagged=True
                    )
                    os.replace(partial, pdf_path)
                except BaseException:
                    pages.clear()  # a page that failed is not used again
                    with contextlib.suppress(Exception):
                        page.close()
                    raise
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        partial.unlink()
                return pdf_path

            yield print_pdf
        finally:
            browser.close()


def export_site_pdfs(out_dir, results: list[SiteResult]) -> None:
    """Print the report of every successful site to ``<slug>.pdf`` beside its HTML (one Chromium for all).
    A site whose PDF fails is marked failed with the error; its earlier PDF, if any, stays."""
    printer = SitePdfs(out_dir)
    for result in results:
        printer.add(result)
    printer.finish()


class SitePdfs:
    """One headless Chromium, in a thread of its own, printing each site's report as soon as it is added
    (while the batch runs the next sites), and any other page (:meth:`add_page`).

    A site whose PDF fails is marked failed with the error (its earlier PDF, if any, stays); if Chromium
    will not start or dies, every site still without its PDF fails with that error.
    """

    def __init__(self, out_dir):
        import queue
        import threading

        self.out_dir = Path(out_dir)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._print_all, name="pdf", daemon=True)
        self._thread.start()

    def add(self, result: SiteResult) -> None:
        """Print ``result``'s report (a failed site is left alone)."""
        if result.ok:
            self._queue.put(result)

    def add_page(self, html_path, pdf_path):
        """Print one page; a ``concurrent.futures.Future`` of the PDF's path (or of the error)."""
        import concurrent.futures

        done: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((Path(html_path), Path(pdf_path), done))
        return done

    def finish(self) -> None:
        """Wait until everything added has been printed, then close Chromium."""
        self._queue.put(None)
        self._thread.join()

    def stop(self, timeout_s: float = 5) -> None:
        """After the batch has killed Chromium: let the thread end (what was not printed fails)."""
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _print_all(self) -> None:
        job = self._queue.get()  # Chromium starts with the first page to print
        if job is None:
            return
        try:
            with pdf_printer() as print_pdf:
                while job is not None:
                    self._print(print_pdf, job)
                    job = self._queue.get()
        except Exception as error:  # Chromium would not start, or died: the rest fails with the reason
            while job is not None:
                if isinstance(job, tuple):
                    job[2].set_exception(error)
                elif "pdf" not in job.files:
                    _pdf_failed(job, error)
                job = self._queue.get()

    def _print(self, print_pdf, job) -> None:
        if not isinstance(job, tuple):
            _print_site(print_pdf, self.out_dir, job)
            return
        html_path, pdf_path, done = job
        try:
            done.set_result(print_pdf(html_path, pdf_path))
        except Exception as error:
            done.set_exception(error)


def _print_site(print_pdf, out_dir: Path, result: SiteResult) -> None:
    """Print one site's report beside it; mark the site failed if that cannot be done."""
    html_name = str(result.files.get("html"))
    try:  # a name that is not the kit's own never becomes a path (the ledger is checked too)
        if not is_own_file_name(result.files.get("html")) or not html_name.endswith(".html"):
            raise ReportSetupError(f"{result.files.get('html')!r} is not the kit's own report name")
        pdf_name = str(Path(html_name).with_suffix(".pdf"))
        if not stat.S_ISREG(os.lstat(out_dir / html_name).st_mode):
            raise ReportSetupError(f"{html_name}: not a regular file; the kit does not follow links")
        print_pdf(out_dir / html_name, out_dir / pdf_name)
        result.files = {**result.files, "pdf": pdf_name}
    except Exception as error:  # a page Chromium cannot print: this site fails, the others go on
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
