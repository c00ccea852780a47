// Progressive enhancement for the quiz builder: the item picker's results and each draw's count of
// matching items update as the instructor types (from the builder's JSON endpoint, debounced), and
// "Add the chosen items" and "Remove" change the sections in place. Without this script the page
// still works: those buttons post the whole form, which comes back with every value kept.
(function () {
  "use strict";
  const form = document.querySelector("form.builder");
  const picker = form && form.querySelector("[data-picker]");
  if (!picker) return;
  const endpoint = picker.dataset.picker;
  const DELAY = 250;
  const known = new Map();  // key -> item as the endpoint gave it (title, type, max_mark)

  function plural(n, one, many) { return n === 1 ? one : many; }

  function debounce(fn) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, DELAY);
    };
  }

  // Each request supersedes the one before it for the same purpose: a slow reply never overwrites a newer one.
  const latest = {};
  function fetchJSON(purpose, params) {
    const ticket = (latest[purpose] || 0) + 1;
    latest[purpose] = ticket;
    return fetch(endpoint + "?" + params.toString(), {headers: {accept: "application/json"}, credentials: "same-origin"})
      .then(function (reply) {
        if (!reply.ok) throw new Error("the server answered " + reply.status);
        return reply.json();
      })
      .then(function (body) { return latest[purpose] === ticket ? body : null; });
  }

  function lines(text) {
    return text.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
  }

  // --- the picker's results --------------------------------------------------------------------

  const results = picker.querySelector("[data-picker-results]");
  const countLine = picker.querySelector("[data-picker-count]");

  function pickerParams() {
    const params = new URLSearchParams();
    params.set("q", picker.querySelector("#pick-q").value.trim());
    params.set("type", picker.querySelector("#pick-type").value);
    picker.querySelectorAll("select[name=pick-tag]").forEach(function (select) {
      if (select.value) params.append("tag", select.value);
    });
    const concept = picker.querySelector("#pick-concept");
    if (concept && concept.value) params.append("concept", concept.value);
    return params;
  }

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function showResults(body) {
    const chosen = new Set(Array.from(results.querySelectorAll("input[name=pick]:checked")).map(function (b) { return b.value; }));
    results.replaceChildren();
    body.items.forEach(function (item) {
      known.set(item.key, item);
      const row = document.createElement("tr");
      row.dataset.type = item.type;
      const box = document.createElement("input");
      box.type = "checkbox";
      box.name = "pick";
      box.value = item.key;
      box.id = "pick-" + item.key;
      box.checked = chosen.has(item.key);
      cell(row, "").appendChild(box);
      const what = cell(row, "");
      const label = document.createElement("label");
      label.htmlFor = box.id;
      label.textContent = item.title;
      const about = document.createElement("small");
      about.className = "hint";
      about.textContent = [item.key, item.type.replace(/_/g, " ")].concat(item.bloom.length ? [item.bloom.join(", ")] : []).join(" · ");
      what.append(label, about);
      cell(row, String(item.max_mark));
      results.appendChild(row);
    });
    countLine.replaceChildren();
    if (body.problem) {
      countLine.textContent = body.problem;
      return;
    }
    const strong = document.createElement("strong");
    strong.textContent = String(body.count);
    countLine.append(strong, " " + plural(body.count, "item matches", "items match")
      + (body.count > body.items.length ? "; the first " + body.items.length + " are shown." : "."));
  }

  function search() {
    fetchJSON("picker", pickerParams()).then(function (body) { if (body) showResults(body); })
      .catch(function (error) { countLine.textContent = "The search did not answer (" + error.message + "): press Search."; });
  }

  const later = debounce(search);
  picker.querySelector("#pick-q").addEventListener("input", later);
  picker.querySelectorAll(".picker-filters select").forEach(function (select) { select.addEventListener("change", search); });
  picker.querySelector("#pick-q").addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); search(); }
  });
  picker.querySelector("[data-picker-search]").addEventListener("click", function (event) {
    event.preventDefault();
    search();
  });
  // the results the page came with, so that adding them needs no request
  results.querySelectorAll("tr").forEach(function (row) {
    const box = row.querySelector("input[name=pick]");
    const cells = row.querySelectorAll("td");
    if (box) known.set(box.value, {key: box.value, title: row.querySelector("label").textContent,
                                   type: row.dataset.type, max_mark: Number(cells[2].textContent)});
  });

  // --- a section's fixed items -----------------------------------------------------------------

  function sectionRows(n) { return form.querySelector('[data-picked="' + n + '"]'); }
  function itemsBox(n) { return form.querySelector('[data-items="' + n + '"]'); }

  function refreshEmpty(n) {
    const empty = form.querySelector('[data-picked-empty="' + n + '"]');
    if (empty) empty.hidden = sectionRows(n).children.length > 0;
  }

  function removeButton(n, key, title) {
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "secondary";
    button.name = "action";
    button.value = "remove-" + n + "-" + key;
    button.setAttribute("aria-label", "Remove " + title + " from section " + (Number(n) + 1));
    button.textContent = "Remove";
    return button;
  }

  function addRow(n, item) {
    const body = sectionRows(n);
    if (body.querySelector('tr[data-key="' + CSS.escape(item.key) + '"]')) return;
    const row = document.createElement("tr");
    row.dataset.key = item.key;
    const what = cell(row, item.title);
    const hint = document.createElement("small");
    hint.className = "hint";
    hint.textContent = item.type ? item.key + " · " + item.type.replace(/_/g, " ") : "not in the banks this course may use";
    what.append(document.createElement("br"), hint);
    const field = "section-" + n + "-mark-" + item.key;
    const markCell = cell(row, "");
    const label = document.createElement("label");
    label.className = "sr-only";
    label.htmlFor = field;
    label.textContent = "Marks for " + item.title;
    const input = document.createElement("input");
    Object.assign(input, {className: "mark", id: field, name: field, type: "number", step: "any", min: "0.01",
                          inputMode: "decimal", value: item.max_mark ? String(item.max_mark) : ""});
    markCell.append(label, input);
    cell(row, "").appendChild(removeButton(n, item.key, item.title));
    body.appendChild(row);
    refreshEmpty(n);
  }

  function removeRow(n, key) {
    const row = sectionRows(n).querySelector('tr[data-key="' + CSS.escape(key) + '"]');
    if (row) row.remove();
    const box = itemsBox(n);
    box.value = lines(box.value).filter(function (k) { return k !== key; }).join("\n");
    refreshEmpty(n);
  }

  picker.querySelector("[data-picker-add]").addEventListener("click", function (event) {
    event.preventDefault();
    const n = picker.querySelector("#pick-section").value;
    const box = itemsBox(n);
    const listed = lines(box.value);
    const added = [];
    results.querySelectorAll("input[name=pick]:checked").forEach(function (choice) {
      const item = known.get(choice.value);
      if (!item) return;
      if (listed.indexOf(item.key) < 0) listed.push(item.key);
      addRow(n, item);
      added.push(item.title);
      choice.checked = false;
    });
    box.value = listed.join("\n");
    countLine.textContent = added.length
      ? "Added to section " + (Number(n) + 1) + ": " + added.join("; ") + "."
      : "Tick the items to add first.";
  });

  form.addEventListener("click", function (event) {
    const button = event.target.closest("button[name=action]");
    if (!button || !button.value.startsWith("remove-")) return;
    event.preventDefault();
    const rest = button.value.slice("remove-".length);
    const cut = rest.indexOf("-");
    removeRow(rest.slice(0, cut), rest.slice(cut + 1));
  });

  // ids typed by hand get their rows (title and default mark) once typing pauses
  form.querySelectorAll("[data-items]").forEach(function (box) {
    const n = box.dataset.items;
    box.addEventListener("input", debounce(function () {
      const keys = lines(box.value);
      sectionRows(n).querySelectorAll("tr[data-key]").forEach(function (row) {
        if (keys.indexOf(row.dataset.key) < 0) row.remove();
      });
      const missing = keys.filter(function (k) { return !sectionRows(n).querySelector('tr[data-key="' + CSS.escape(k) + '"]'); });
      refreshEmpty(n);
      if (!missing.length) return;
      const params = new URLSearchParams();
      missing.slice(0, 50).forEach(function (k) { params.append("key", k); });
      fetchJSON("items-" + n, params).then(function (body) {
        if (!body) return;
        const found = new Map(body.items.map(function (item) { return [item.key, item]; }));
        missing.forEach(function (k) {
          if (lines(box.value).indexOf(k) < 0) return;
          addRow(n, found.get(k) || {key: k, title: k, type: "", max_mark: 0});
        });
      }).catch(function () { /* the rows come with the page's next answer */ });
    }));
  });

  // --- a draw's count of matching items --------------------------------------------------------

  form.querySelectorAll("[data-draw-tags]").forEach(function (box) {
    const n = box.dataset.drawTags;
    const out = form.querySelector('[data-matches="' + n + '"]');
    function count() {
      const tags = lines(box.value);
      if (!tags.length) {
        out.textContent = "Type tag queries to see how many items match.";
        return;
      }
      const params = new URLSearchParams();
      tags.slice(0, 20).forEach(function (t) { params.append("tag", t); });
      params.set("limit", "0");
      params.set("marks", "true");
      fetchJSON("draw-" + n, params).then(function (body) {
        if (!body) return;
        out.replaceChildren();
        if (body.problem) {
          out.textContent = body.problem;
          return;
        }
        const strong = document.createElement("strong");
        strong.textContent = String(body.count);
        let worth = "";
        if (body.marks && body.marks.length === 1) {
          worth = ", worth " + body.marks[0] + " " + plural(body.marks[0], "mark", "marks") + " each";
        } else if (body.marks && body.marks.length > 1) {
          worth = ", worth different marks (" + body.marks.join(", ") + "): give the marks per drawn question";
        }
        out.append(strong, " " + plural(body.count, "item matches", "items match") + " these tags" + worth + ".");
      }).catch(function (error) { out.textContent = "The count did not answer (" + error.message + ")."; });
    }
    box.addEventListener("input", debounce(count));
  });
  form.querySelectorAll("[data-count-button]").forEach(function (button) { button.hidden = true; });

  // --- dates: in the instructor's own time zone ----------------------------------------------------

  const zone = form.querySelector("[data-local-zone]");
  const dated = Array.from(form.querySelectorAll("input[type=datetime-local]")).some(function (input) { return input.value; });
  if (zone && zone.value === "UTC" && !dated && window.Intl) {
    const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (local) zone.value = local;
  }
})();
