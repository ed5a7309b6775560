"""Accessibility and phone fixes of the chat UI: theme colours with ≥ 4.5:1 contrast, the stylesheet and the page
script that go with them. No Gradio import at module level.

* ``theme()`` is the app's theme; ``accessible_theme(theme)`` darkens the theme colours that sat below 4.5:1
  (grey text, the primary buttons, labels, the selected tab).
* ``STYLESHEET`` (appended to ``ui.render.STYLESHEET``): [n] markers of at least 20 px, the Articles table kept
  readable on a phone (columns of fixed width, scrolled sideways, never wrapped letter by letter), the input's
  placeholder fitted to narrow screens, the "queued" line and the "back to the answer" button.
* ``HEAD_SCRIPT`` (appended to ``ui.render.HEAD_SCRIPT``): arrow keys, Home and End move between tabs (the WAI-ARIA
  tabs pattern, with a roving tabindex); the Sources panel and the status lines are live regions; a question sent
  while an answer streams shows as queued; after a tap on [n] has moved the page to its source card, a
  "Back to the answer" button returns to the marker.

Example::

    css = render.STYLESHEET + a11y.STYLESHEET
    theme = a11y.accessible_theme(gr.themes.Soft(primary_hue="indigo", neutral_hue="slate"))
"""

from __future__ import annotations

from typing import Any

# WCAG 2.x contrast of the colours used (light mode, on white / slate-50): slate-600 #475569 7.2:1,
# indigo-600 #4f46e5 with white 6.3:1, indigo-700 #4338ca on indigo-100 #e0e7ff 6.9:1.
_LIGHT = {
    "body_text_color_subdued": "*neutral_600",
    "input_placeholder_color": "*neutral_600",
    "color_accent": "*primary_600",
    "button_primary_background_fill": "*primary_600",
    "button_primary_background_fill_hover": "*primary_700",
    "button_primary_border_color": "*primary_600",
    "button_primary_border_color_hover": "*primary_700",
    "block_label_text_color": "*primary_700",
    "block_title_text_color": "*primary_700",
    "button_cancel_background_fill": "#b42318",
    "button_cancel_background_fill_hover": "#912018",
    "button_cancel_text_color": "white",
}
# Dark mode: slate-300 on slate-950 is 13:1; indigo-300 for accents on dark fills.
_DARK = {
    "body_text_color_subdued_dark": "*neutral_300",
    "input_placeholder_color_dark": "*neutral_400",
    "button_primary_background_fill_dark": "*primary_600",
}


def theme() -> Any:
    """The app's Gradio theme: Soft, indigo and slate, system fonts, colours at >= 4.5:1 contrast."""
    import gradio as gr

    # System fonts: the default theme loads Google Fonts from the browser, a network call we don't make.
    fonts = (
        "ui-sans-serif",
        "system-ui",
        "-apple-system",
        "Segoe UI",
        "Roboto",
        "Helvetica Neue",
        "Arial",
        "sans-serif",
    )
    mono = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace")
    return accessible_theme(gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=fonts, font_mono=mono))


def accessible_theme(theme: Any) -> Any:
    """``theme`` (a Gradio theme) with the low-contrast colours replaced; returns the same theme."""
    return theme.set(**_LIGHT, **_DARK)


STYLESHEET = """
/* [n] markers: a target of at least 20 x 20 px (the text stays small and raised). */
.cq-sup { line-height: 0; vertical-align: 0.35em; }
a.cq-cite { display: inline-block; min-width: 20px; min-height: 20px; line-height: 20px; text-align: center;
  font-size: 0.78rem; padding: 0 0.3em; box-sizing: border-box; vertical-align: baseline; }
a.cq-cite:focus-visible, #cq-back:focus-visible { outline: 2px solid var(--color-accent); outline-offset: 2px; }
#cq-current-title h2 { font-size: 1rem; margin: 0.2rem 0; }
/* Dark mode: the theme has no dark accent, and indigo-600 on slate-950 is 3:1; indigo-300 is 10:1. */
.dark { --color-accent: #a5b4fc; }
.dark a.cq-cite:hover { color: #0a0f1e !important; }
/* Gradio draws chat messages at 80% opacity, which takes every colour in them below its contrast. */
#cq-chat .message-wrap .prose.chatbot.md { opacity: 1; }
/* grey text of our own markup on its tinted backgrounds */
.cq-badge-na { color: var(--body-text-color); }
#cq-queued { font-size: 0.85em; color: var(--body-text-color); background: var(--background-fill-secondary);
  border: 1px dashed var(--border-color-primary); border-radius: 8px; padding: 0.3em 0.6em; margin: 0.2em 0; }
#cq-queued[hidden] { display: none; }
#cq-back { position: fixed; left: 50%; bottom: 1rem; transform: translateX(-50%); z-index: 1000;
  padding: 0.55rem 1rem; min-height: 44px; border-radius: 999px; border: none; cursor: pointer; font-weight: 600;
  background: var(--button-primary-background-fill); color: white; box-shadow: 0 2px 10px rgba(0, 0, 0, 0.25); }
#cq-back[hidden] { display: none; }
/* The Articles table has fixed column widths (ui.app): on a phone it scrolls sideways inside its box instead of
   widening the page or wrapping letter by letter. */
#cq-articles { width: 100%; contain: inline-size; }
@media (max-width: 640px) {
  #cq-input textarea::placeholder { font-size: 0.9em; }
}
"""

HEAD_SCRIPT = """
<script>
(function () {
  var PHONE_QUERY = "(max-width: 640px)";
  // -- tabs: arrow keys, Home and End move the selection (WAI-ARIA tabs); only the selected tab is in Tab order --
  function tabsOf(tab) {
    return Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[role=tab]"));
  }
  document.addEventListener("keydown", function (ev) {
    var tab = ev.target && ev.target.closest ? ev.target.closest("[role=tablist] [role=tab]") : null;
    if (!tab) return;
    var tabs = tabsOf(tab).filter(function (t) { return t.getAttribute("aria-disabled") !== "true"; });
    var i = tabs.indexOf(tab), next = null;
    if (ev.key === "ArrowRight" || ev.key === "ArrowDown") next = tabs[(i + 1) % tabs.length];
    else if (ev.key === "ArrowLeft" || ev.key === "ArrowUp") next = tabs[(i - 1 + tabs.length) % tabs.length];
    else if (ev.key === "Home") next = tabs[0];
    else if (ev.key === "End") next = tabs[tabs.length - 1];
    if (!next) return;
    ev.preventDefault();
    next.click();
    next.focus();
  }, true);

  // -- attributes Gradio does not set: live regions, the roving tabindex of the tabs --
  function set(el, name, value) { if (el && el.getAttribute(name) !== value) el.setAttribute(name, value); }
  function annotate() {
    var sources = document.getElementById("cq-sources");
    set(sources, "role", "region");
    set(sources, "aria-label", "Sources");
    set(sources, "aria-live", "polite");
    ["cq-feedback-status", "cq-articles-status", "cq-settings-status", "cq-index-progress"].forEach(function (id) {
      var el = document.getElementById(id);
      set(el, "role", "status");
      set(el, "aria-live", "polite");
    });
    document.querySelectorAll("[role=tablist] [role=tab]").forEach(function (t) {
      set(t, "tabindex", t.getAttribute("aria-selected") === "true" ? "0" : "-1");
    });
  }

  // -- a question sent while an answer streams: keep it visible as queued until its turn comes --
  var queued = null;
  function streaming() {
    var bots = document.querySelectorAll("#cq-chat .cq-bot");
    return bots.length > 0 && bots[bots.length - 1].querySelector(".cq-cursor") !== null;
  }
  function questions() { return document.querySelectorAll("#cq-chat .cq-question").length; }
  function queuedLine() {
    var line = document.getElementById("cq-queued");
    var input = document.getElementById("cq-input");
    if (!line && input) {
      line = document.createElement("div");
      line.id = "cq-queued";
      line.setAttribute("role", "status");
      line.hidden = true;
      var row = input.closest(".row") || input;
      row.parentNode.insertBefore(line, row.nextSibling);
    }
    return line;
  }
  function noteQueued(example) {
    var box = document.querySelector("#cq-input textarea");
    var text = example || (box ? box.value.trim() : "");
    if (!text || !streaming()) return;
    var line = queuedLine();
    if (!line) return;
    queued = {text: text, before: questions()};
    line.textContent = "Queued: \\u201c" + text + "\\u201d \\u2014 it is sent when the current answer ends.";
    line.hidden = false;
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && !ev.shiftKey && ev.target && ev.target.closest && ev.target.closest("#cq-input")) {
      noteQueued();
    }
  }, true);
  document.addEventListener("click", function (ev) {
    var t = ev.target && ev.target.closest ? ev.target : null;
    if (t && t.closest("#cq-send")) noteQueued();
    else if (t && t.closest(".cq-example")) noteQueued(t.closest(".cq-example").innerText.trim());  // sent as Ask is
  }, true);
  function checkQueued() {
    if (queued && questions() > queued.before) {
      queued = null;
      var line = document.getElementById("cq-queued");
      if (line) { line.hidden = true; line.textContent = ""; }
    }
  }

  // -- [n] on a phone: the page moves down to the source card; a button brings the reader back to the marker --
  var lastMarker = null, back = null, watcher = null;
  function backButton() {
    if (back) return back;
    back = document.createElement("button");
    back.id = "cq-back";
    back.type = "button";
    back.hidden = true;
    back.textContent = "\\u2191 Back to the answer";
    back.addEventListener("click", function () {
      var m = lastMarker;
      back.hidden = true;
      if (m && document.body.contains(m)) {
        m.scrollIntoView({block: "center"});
        m.focus({preventScroll: true});
      }
    });
    document.body.appendChild(back);
    return back;
  }
  document.addEventListener("click", function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest("a.cq-cite") : null;
    if (!a || !window.matchMedia(PHONE_QUERY).matches) return;
    lastMarker = a;
    var b = backButton();
    if (watcher) watcher.disconnect();
    // Shown while the marker is out of view, hidden once it is back (scrolled there or by the button).
    watcher = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) { b.hidden = e.isIntersecting; });
    });
    watcher.observe(a);
  }, false);

  new MutationObserver(function () { annotate(); checkQueued(); })
    .observe(document.documentElement, {childList: true, subtree: true, attributes: true,
      attributeFilter: ["aria-selected"]});
  document.addEventListener("DOMContentLoaded", annotate);
})();
</script>
"""
