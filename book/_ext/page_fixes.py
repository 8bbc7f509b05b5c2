"""Two upstream defects that show as console errors on every page of a Jupyter Book 1 build.

- sphinx-thebe adds its configuration script twice, and the second ``const THEBE_JS_URL``
  is a SyntaxError in the browser: keep each inline script once.
- pydata-sphinx-theme reads the colour mode from ``localStorage`` and falls back to an empty
  string on a first visit, which it reports as an invalid mode: give it one (auto).
"""


def _dedup_scripts(app, pagename, templatename, context, doctree):
    seen, kept = set(), []
    for script in context.get("script_files", []):
        # the copies differ only in an empty file name written as None or as ""
        key = (getattr(script, "filename", None) or "", str(getattr(script, "attributes", {}).get("body", "")))
        if key not in seen:
            seen.add(key)
            kept.append(script)
    context["script_files"] = kept
    if not context.get("default_mode"):
        context["default_mode"] = "auto"  # follow the reader's system setting


def setup(app):
    app.connect("html-page-context", _dedup_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
