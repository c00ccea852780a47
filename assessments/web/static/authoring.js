// The item editor, enhanced: CodeMirror (when its bundle loaded) instead of the plain textarea,
// and the checker's problems and the preview fetched again as the author types (the same panel
// the "Check and preview" button renders, from POST /bank/check). Without this script the page
// works as a plain form.
(function () {
  "use strict";
  const form = document.getElementById("editor-form");
  const textarea = document.getElementById("text");
  if (!form || !textarea) return;
  const panel = form.querySelector(".results-panel");
  const seed = document.getElementById("seed");
  const DELAY_MS = 700;
  let editor = null;
  let timer = null;
  let asked = 0;

  function problemLines() {
    const results = panel.querySelector("#results");
    const raw = results ? results.getAttribute("data-problem-lines") : "";
    return raw ? raw.split(",").map(Number).filter((n) => n > 0) : [];
  }

  function showLines() {
    if (editor) editor.showProblems(problemLines());
  }

  async function refresh(declare) {
    const mine = ++asked;
    const body = new FormData(form);
    body.delete("action");
    if (declare) body.set("declare", declare);
    try {
      const reply = await fetch("/bank/check", { method: "POST", body, credentials: "same-origin" });
      if (!reply.ok || mine !== asked) return;  // a later change has asked again
      panel.innerHTML = await reply.text();
      showLines();
    } catch (error) {
      // the network is down: the button still checks when it is back
    }
  }

  function changed() {
    clearTimeout(timer);
    timer = setTimeout(refresh, DELAY_MS);
  }

  // The bank's declarations, for completing tags and concepts; a value declared here joins them.
  const data = document.getElementById("declarations-data");
  let declared = { facets: {}, concepts: {} };
  try { declared = JSON.parse(data ? data.textContent : "{}") || declared; } catch (error) { /* none to offer */ }

  if (window.AssayEditor) {
    const nonce = document.querySelector('meta[name="csp-nonce"]');
    editor = window.AssayEditor.attach(textarea, changed, nonce ? nonce.content : undefined, () => declared);
    showLines();
  } else {
    textarea.addEventListener("input", changed);
  }
  if (seed) seed.addEventListener("change", changed);
  // A template or a copy opens unchecked: check it once at once.
  if (textarea.value.trim() && !panel.querySelector("#results[data-problem-lines] > *")) refresh();

  // "Declare" adds the value to the bank's declarations and checks again, without leaving the page
  // (without this script the button posts the whole form, which does the same).
  function remember(value) {
    const [kind, rest] = [value.slice(0, value.indexOf(":")), value.slice(value.indexOf(":") + 1)];
    if (kind === "concept") {
      const title = form.querySelector(`[name="concept-title-${CSS.escape(rest)}"]`);
      declared.concepts = { ...declared.concepts, [rest]: title && title.value.trim() ? title.value.trim() : rest };
    } else if (kind === "facet") {
      const facet = rest.slice(0, rest.indexOf("="));
      const values = (declared.facets || {})[facet] || [];
      declared.facets = { ...declared.facets, [facet]: [...values, rest.slice(rest.indexOf("=") + 1)] };
    }
  }
  panel.addEventListener("click", async (event) => {
    const button = event.target.closest("button[name=declare]");
    if (!button) return;
    event.preventDefault();
    clearTimeout(timer);
    button.disabled = true;
    await refresh(button.value);
    remember(button.value);
    const note = panel.querySelector(".declared-note");
    if (note) note.focus();
  });

  // A problem's link goes to its line.
  panel.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-line]");
    if (!link || !editor) return;
    event.preventDefault();
    editor.goToLine(Number(link.getAttribute("data-line")));
  });
})();
