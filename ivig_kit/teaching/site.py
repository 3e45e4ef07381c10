"""The static course site: the teaching notebooks executed and written as accessible, self-contained HTML.

The readable companion of the Binder demo for readers without a live kernel. Each page is an executed
notebook exported by nbconvert's ``lab`` template with the parts that would reach another host removed
(require.js, MathJax, Mermaid and the widget manager come from CDNs), the kit's own CSS (readable syntax
colours, underlined links, the report tables' style), landmarks (header with navigation, main, footer), a
skip link and a contents list. A widget needs a live kernel, so its output becomes a note with the Binder
link. Images are embedded: the folder can be copied to any static host (see the README).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ivig_kit.files import atomic_output
from ivig_kit.resources import notebook_path

#: The teaching notebooks are the numbered ones (``01_...`` to ``05_...``), in reading order.
COURSE_PATTERN = "[0-9][0-9]_*.ipynb"
BINDER_URL = "https://mybinder.org/v2/gh/ivig-kit/ivig-kit/main?labpath=notebooks/{name}"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

#: The kit's page style: readable code colours (every token at least 4.5:1 on its background), links
#: underlined, tables and figures as in the site reports, no prompt column, printing without navigation.
SITE_CSS = """
:root{--jp-content-link-color:#0b5394}
body{margin:0;background:#fff;color:#1a1a1a;font-family:var(--jp-content-font-family,system-ui,sans-serif)}
.ivig-skip{position:absolute;left:-999px}.ivig-skip:focus{left:8px;top:8px;background:#fff;padding:4px;z-index:9}
.ivig-site-header,.ivig-site-footer{padding:8px 20px;background:#f3f5f8;border-bottom:1px solid #ccd}
.ivig-site-footer{border-top:1px solid #ccd;border-bottom:0;font-size:0.9em}
.ivig-site-header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:0.3em 1.2em}
.ivig-site-header a[aria-current=page]{font-weight:bold}
main{max-width:62em;margin:0 auto;padding:0 12px}
a,a:link,a:visited{color:#0b5394;text-decoration:underline!important}
.jp-RenderedHTMLCommon a,.jp-RenderedHTMLCommon a:link{color:#0b5394;text-decoration:underline!important}
.jp-InputPrompt,.jp-OutputPrompt{display:none}
.highlight,.jp-RenderedHTMLCommon pre{background:#f7f7f7;color:#1a1a1a}
.highlight *{color:#1a1a1a!important;font-style:normal!important}
.highlight .k,.highlight .kn,.highlight .kc,.highlight .ow,.highlight .nb{color:#7a1d7a!important;font-weight:bold}
.highlight .s,.highlight .s1,.highlight .s2,.highlight .sa,.highlight .sd,.highlight .si{color:#0a5c0a!important}
.highlight .c,.highlight .c1,.highlight .cm{color:#4d4d4d!important;font-style:italic!important}
.highlight .mi,.highlight .mf{color:#8a3b00!important}
.jp-OutputArea-output pre{color:#1a1a1a}
.jp-RenderedHTMLCommon table{border-collapse:collapse;font-variant-numeric:tabular-nums}
.jp-RenderedHTMLCommon th,.jp-RenderedHTMLCommon td{padding:2px 8px;border-bottom:1px solid #ddd}
.jp-RenderedHTMLCommon td.num{text-align:right}
.jp-RenderedHTMLCommon caption{caption-side:top;text-align:left;font-style:italic;color:#333}
.ivig-widget-note{border-left:4px solid #0b5394;background:#eef4fb;padding:6px 10px}
.ivig-contents{border:1px solid #ccd;padding:6px 14px;margin:12px 0}
@media print{.ivig-site-header,.ivig-skip,.ivig-site-footer nav{display:none}main{max-width:none}}
"""

TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}<style>{{ resources.ivig_site_css }}</style>{%- endblock html_head_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<a class="ivig-skip" href="#content">Skip to the content</a>
<header class="ivig-site-header"><nav aria-label="Course notebooks">{{ resources.ivig_nav }}</nav></header>
<main id="content">
{%- endblock body_header -%}
{% block body_footer %}
</main>
<footer class="ivig-site-footer"><p>{{ resources.ivig_footer }}</p></footer>
</body>
{% endblock body_footer %}
"""


@dataclass(frozen=True)
class CoursePage:
    """One page of the course site: its title, file name and the notebook it was made from."""

    title: str
    file_name: str
    notebook: str


@dataclass(frozen=True)
class CourseSite:
    """A built course site: its folder, the index page and every notebook page in reading order."""

    folder: Path
    index: Path
    pages: tuple[CoursePage, ...]


def notebook_title(notebook) -> str:
    """The text of the notebook's first Markdown heading (its title), or ``"Notebook"``."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, flags=re.MULTILINE)
            if match:
                return match.group(1).strip()
    return "Notebook"


def replace_widgets(notebook, binder_link: str) -> int:
    """Turn every widget output into a note that it needs a live kernel, with the Binder link; return how many."""
    note = {
        "text/html": (
            f'<p class="ivig-widget-note"><strong>Interactive widget.</strong> It needs a live '
            f'Python kernel, so this page cannot run it: <a href="{html.escape(binder_link)}">open '
            f"this notebook on Binder</a> or run it in JupyterLab (<code>make lab</code>).</p>"
        ),
        "text/plain": "Interactive widget: open this notebook on Binder or in JupyterLab to use it.",
    }
    replaced = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if WIDGET_MIME in output.get("data", {}):
                output["data"] = dict(note)
                replaced += 1
    notebook.metadata.pop("widgets", None)
    return replaced


def contents_html(body: str) -> str:
    """A contents list of the page's second-level headings (nbconvert gives each an id)."""
    headings = re.findall(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', body, flags=re.DOTALL)
    items = []
    for anchor, text in headings:
        label = re.sub(r"<[^>]+>", "", text).replace("¶", "").strip()
        items.append(f'<li><a href="#{anchor}">{label}</a></li>')
    if not items:
        return ""
    return (
        f'<nav class="ivig-contents" aria-label="Contents of this page"><h2>Contents</h2>'
        f"<ul>{''.join(items)}</ul></nav>"
    )


def navigation_html(pages: list[CoursePage], current: str | None) -> str:
    items = ['<li><a href="index.html"' + (' aria-current="page"' if current is None else "") + ">Course home</a></li>"]
    for page in pages:
        here = ' aria-current="page"' if page.file_name == current else ""
        items.append(f'<li><a href="{page.file_name}"{here}>{html.escape(page.title)}</a></li>')
    return "<ul>" + "".join(items) + "</ul>"


def export_page(notebook, title: str, nav: str, footer: str) -> str:
    """The self-contained HTML of an executed notebook (see the module docstring)."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"ivig_site.html.j2": TEMPLATE})],
        template_file="ivig_site.html.j2",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    notebook.metadata["title"] = f"{title} | ivig-kit course"
    page, _ = exporter.from_notebook_node(
        notebook, resources={"ivig_site_css": SITE_CSS, "ivig_nav": nav, "ivig_footer": footer}
    )
    return page.replace("</h1>", "</h1>" + contents_html(page), 1)  # the contents right under the title


def execute(notebook_file: Path, timeout: int = 600):
    """Run a notebook top to bottom in its own folder (as papermill and the test suite do) and return it."""
    from nbclient import NotebookClient

    notebook = nbformat.read(notebook_file, as_version=4)
    NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(notebook_file.parent)}}
    ).execute()
    return notebook


def index_html(pages: list[CoursePage], footer: str) -> str:
    items = "".join(
        f'<li><a href="{p.file_name}">{html.escape(p.title)}</a> (from <code>{html.escape(p.notebook)}</code>)</li>'
        for p in pages
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ivig-kit course: IVIg in myositis and the Total Improvement Score</title><style>{SITE_CSS}
body{{font-family:system-ui,sans-serif;line-height:1.5}}</style></head>
<body><a class="ivig-skip" href="#content">Skip to the content</a>
<header class="ivig-site-header"><nav aria-label="Course notebooks">{navigation_html(pages, None)}</nav></header>
<main id="content"><h1>ivig-kit course: IVIg in myositis and the Total Improvement Score</h1>
<p>The kit's teaching notebooks, executed and shown as pages. Patient-level data in them are synthetic.
To change a value and run a cell again, <a href="{html.escape(BINDER_URL.format(name=pages[0].notebook))}">open the
notebooks on Binder</a> or run <code>make lab</code> in a clone.</p>
<ol>{items}</ol></main>
<footer class="ivig-site-footer"><p>{footer}</p></footer></body></html>
"""


def course_notebooks() -> list[Path]:
    """The numbered teaching notebooks bundled with the kit (:data:`COURSE_PATTERN`), in reading order."""
    return sorted(notebook_path("site_report.ipynb").parent.glob(COURSE_PATTERN))


def build_course_site(out: Path, notebooks: list[Path] | None = None, timeout: int = 600) -> CourseSite:
    """Execute the teaching notebooks and write the course site into ``out``.

    Parameters
    ----------
    out : Path
        Folder for ``index.html`` and one page per notebook (created; pages are replaced atomically).
    notebooks : list of Path, optional
        Notebooks to execute and show, in order; by default :func:`course_notebooks`.
    timeout : int
        Longest a cell may run, in seconds.

    Returns
    -------
    CourseSite
        The folder, the index page and the pages in reading order.
    """
    files = notebooks if notebooks is not None else course_notebooks()
    files = [Path(f) for f in files if Path(f).exists()]
    out.mkdir(parents=True, exist_ok=True)
    executed = [(f, execute(f, timeout)) for f in files]
    pages = [CoursePage(notebook_title(nb), f"{f.stem}.html", f.name) for f, nb in executed]
    footer = (
        "ivig-kit teaching notebooks, executed for reading. Synthetic patient data; a teaching resource, "
        "not a medical device."
    )
    for page, (file, notebook) in zip(pages, executed):
        replace_widgets(notebook, BINDER_URL.format(name=file.name))
        text = export_page(notebook, page.title, navigation_html(pages, page.file_name), html.escape(footer))
        with atomic_output(out / page.file_name) as partial:
            Path(partial).write_text(text, encoding="utf-8")
    with atomic_output(out / "index.html") as partial:
        Path(partial).write_text(index_html(pages, html.escape(footer)), encoding="utf-8")
    return CourseSite(out, out / "index.html", tuple(pages))


def main(argv: list[str] | None = None) -> int:
    """``python -m ivig_kit.teaching.site OUT``: build the course site (``make site``)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m ivig_kit.teaching.site",
        description="Execute the teaching notebooks and write the static course site.",
    )
    parser.add_argument("out", type=Path, nargs="?", default=Path("site"), help="output folder (default: site)")
    args = parser.parse_args(argv)
    site = build_course_site(args.out)
    print(f"{len(site.pages)} page(s); open {site.index}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
