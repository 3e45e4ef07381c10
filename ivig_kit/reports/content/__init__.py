"""What runs inside a report kernel: :mod:`.parameters` (the notebook's contract), :mod:`.site` (one
site's slice and the pooled summary), :mod:`.tables`, :mod:`.figures`, :mod:`.summary` (the JSON
summary and provenance) and :mod:`.display` (the one rendering path: escaped, captioned). Never imports
:mod:`ivig_kit.reports.runner`."""
