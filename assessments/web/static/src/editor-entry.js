// The item editor's CodeMirror 6, bundled by scripts/vendor-frontend.sh into
// static/vendor/editor.js as one script that defines window.AssayEditor: line numbers, YAML
// highlighting, the checker's problems as marks on their lines, and completion of tag values and
// concepts from the bank's declarations. Assay's own code (static/
// authoring.js) drives it; without this file the page keeps its plain textarea.
import { EditorState, StateEffect, StateField, RangeSetBuilder } from "@codemirror/state";
import { EditorView, Decoration, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
         drawSelection, gutter, GutterMarker } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching } from "@codemirror/language";
import { yaml } from "@codemirror/lang-yaml";
import { autocompletion, completionKeymap } from "@codemirror/autocomplete";

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

// --- completing tags and concepts from the bank's declarations ---------------------------------

const KEY = /([A-Za-z_][\w-]*)\s*:(?=\s|$)/g;
const LIST_ITEM = /^\s*-\s/;

// The keys above the cursor's line, outermost first: a line less indented than the one below it
// that starts with "key:" (a list item's dash may sit at its key's own indentation).
function parentKeys(state, lineNumber, text) {
  const keys = [];
  let want = text.length - text.trimStart().length + (LIST_ITEM.test(text) ? 1 : 0);
  for (let n = lineNumber - 1; n >= 1 && want > 0; n--) {
    const above = state.doc.line(n).text;
    const trimmed = above.trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const indent = above.length - above.trimStart().length;
    if (indent >= want) continue;
    const match = /^\s*(?:-\s+)?([A-Za-z_][\w-]*)\s*:/.exec(above);
    if (match) keys.unshift(match[1]);
    want = indent;
  }
  return keys;
}

// Facet values under tags (tags: {chapter: ...}, chapter: [...], or "- ..." below a facet), facet
// names as keys under tags, and concepts under concepts (with their titles beside them).
function declaredCompletions(declarations) {
  return (context) => {
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    if (before.trimStart().startsWith("#")) return null;
    const chain = parentKeys(context.state, line.number, line.text)
      .concat([...before.matchAll(KEY)].map((m) => m[1]));
    const typed = /[^[\],{}:]*$/.exec(before)[0].replace(/^\s*(?:-\s+)?/, "");
    const from = context.pos - typed.length;
    const current = declarations();
    if (chain[0] === "tags" && chain.length === 1 && !/[[{,]/.test(before)) {
      const options = Object.keys(current.facets || {}).map((facet) => ({ label: facet, apply: facet + ": ", type: "property" }));
      return { from, options, validFor: /^[\w-]*$/ };
    }
    if (chain[0] === "tags" && chain.length >= 2) {
      const values = (current.facets || {})[chain[chain.length - 1]] || [];
      return { from, options: values.map((value) => ({ label: value, type: "enum" })), validFor: /^[^[\],{}:]*$/ };
    }
    if (chain[0] === "concepts" && chain.length === 1) {
      const options = Object.entries(current.concepts || {}).map(([key, title]) => ({ label: key, detail: title, type: "constant" }));
      return { from, options, validFor: /^[\w.-]*$/ };
    }
    return null;
  };
}

// Replace a textarea by an editor that keeps it up to date (so the form posts what is shown).
// ``declarations`` answers the bank's declarations as they are now (they grow as values are declared).
function attach(textarea, onChange, nonce, declarations) {
  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(), problemGutter, highlightActiveLineGutter(), history(), drawSelection(),
        indentOnInput(), bracketMatching(), highlightActiveLine(), yaml(),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        ...(declarations ? [autocompletion({ override: [declaredCompletions(declarations)], icons: false })] : []),
        keymap.of([...completionKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
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
