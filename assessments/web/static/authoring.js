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

  async function refresh() {
    const mine = ++asked;
    const body = new FormData(form);
    body.delete("action");
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

  if (window.AssayEditor) {
    const nonce = document.querySelector('meta[name="csp-nonce"]');
    editor = window.AssayEditor.attach(textarea, changed, nonce ? nonce.content : undefined);
    showLines();
  } else {
    textarea.addEventListener("input", changed);
  }
  if (seed) seed.addEventListener("change", changed);
  // A template or a copy opens unchecked: check it once at once.
  if (textarea.value.trim() && !panel.querySelector("#results[data-problem-lines] > *")) refresh();

  // A problem's link goes to its line.
  panel.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-line]");
    if (!link || !editor) return;
    event.preventDefault();
    editor.goToLine(Number(link.getAttribute("data-line")));
  });
})();
