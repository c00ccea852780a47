// The item editor's CodeMirror 6, bundled by scripts/vendor-frontend.sh into
// static/vendor/editor.js as one script that defines window.AssayEditor: line numbers, YAML
// highlighting, the checker's problems as marks on their lines. Assay's own code (static/
// authoring.js) drives it; without this file the page keeps its plain textarea.
import { EditorState, StateEffect, StateField, RangeSetBuilder } from "@codemirror/state";
import { EditorView, Decoration, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
         drawSelection, gutter, GutterMarker } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching } from "@codemirror/language";
import { yaml } from "@codemirror/lang-yaml";

const setProblems = StateEffect.define();

class ProblemMarker extends GutterMarker {
  toDOM() {
    const mark = document.createElement("span");
    mark.className = "cm-problem-marker";
    mark.textContent = "!";
    mark.setAttribute("aria-hidden", "true");
    return mark;
  }
}
const marker = new ProblemMarker();

// The lines with problems: a background on the line, and a marker in a gutter of its own.
const problemLines = StateField.define({
  create() { return { lines: [], decorations: Decoration.none }; },
  update(value, transaction) {
    let lines = value.lines;
    for (const effect of transaction.effects) {
      if (effect.is(setProblems)) lines = effect.value;
    }
    if (lines === value.lines && !transaction.docChanged) return value;
    const builder = new RangeSetBuilder();
    const doc = transaction.state.doc;
    for (const line of [...new Set(lines)].sort((a, b) => a - b)) {
      if (line >= 1 && line <= doc.lines) {
        builder.add(doc.line(line).from, doc.line(line).from, Decoration.line({ class: "cm-problem-line" }));
      }
    }
    return { lines, decorations: builder.finish() };
  },
  provide: (field) => EditorView.decorations.from(field, (value) => value.decorations),
});

const problemGutter = gutter({
  class: "cm-problem-gutter",
  lineMarker(view, line) {
    const number = view.state.doc.lineAt(line.from).number;
    return view.state.field(problemLines).lines.includes(number) ? marker : null;
  },
  lineMarkerChange: (update) => update.transactions.some((t) => t.effects.some((e) => e.is(setProblems))),
});

// Replace a textarea by an editor that keeps it up to date (so the form posts what is shown).
function attach(textarea, onChange, nonce) {
  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(), problemGutter, highlightActiveLineGutter(), history(), drawSelection(),
        indentOnInput(), bracketMatching(), highlightActiveLine(), yaml(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        problemLines,
        // The page's Content-Security-Policy lets styles in only with its nonce.
        ...(nonce ? [EditorView.cspNonce.of(nonce)] : []),
        EditorState.tabSize.of(2),
        // An explicit tab stop: the editing area is what keyboard users reach (and scroll) the editor by.
        EditorView.contentAttributes.of({ "aria-label": textarea.getAttribute("aria-label") || "Item YAML", tabindex: "0" }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) {
            textarea.value = update.state.doc.toString();
            onChange();
          }
        }),
      ],
    }),
  });
  textarea.hidden = true;
  textarea.insertAdjacentElement("afterend", view.dom);
  return {
    view,
    showProblems(lines) { view.dispatch({ effects: setProblems.of(lines) }); },
    goToLine(number) {
      const line = view.state.doc.line(Math.min(Math.max(number, 1), view.state.doc.lines));
      view.dispatch({ selection: { anchor: line.from }, scrollIntoView: true });
      view.focus();
    },
  };
}

window.AssayEditor = { attach };
