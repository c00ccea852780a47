// Progressive enhancement for the attempt page: autosave (flushed when the page is left), Check and
// Try again in place, flags kept on the server, word counts, the timer and its announcements.
// Without this script the page still works: its buttons post the whole form.
(function () {
  "use strict";
  const root = document.querySelector("[data-attempt]");
  if (!root) return;
  const attemptId = root.dataset.attempt;
  const csrf = root.dataset.csrf;
  const indicator = document.querySelector("[data-save-state]");
  const pending = new Map();   // slot -> timer of a save not sent yet
  const STATES = {not_answered: "not answered", answered: "answered", invalid: "not valid",
                  try_again: "checked, try again", right: "checked, correct", partial: "checked, partly correct",
                  wrong: "checked, incorrect", finished: "checked"};

  function setIndicator(text, kind) {
    if (!indicator) return;
    indicator.textContent = text;
    indicator.dataset.kind = kind;
  }

  function sectionOf(slot) {
    return document.querySelector('section.question[data-slot="' + slot + '"]');
  }

  // The question grid: its colour and its label say the state the server last replied.
  function navState(slot, state, flagged) {
    const link = document.querySelector('[data-nav="' + slot + '"]');
    if (!link) return;
    if (state) {
      Object.keys(STATES).forEach(function (name) { link.classList.remove(name); });
      link.classList.add(state);
      link.dataset.state = state;
    }
    if (flagged !== undefined) link.classList.toggle("flagged", flagged);
    const shown = link.dataset.state || Object.keys(STATES).find(function (name) { return link.classList.contains(name); });
    link.setAttribute("aria-label", "Question " + slot + ": " + (STATES[shown] || shown || "")
                      + (link.classList.contains("flagged") ? ", flagged" : ""));
  }

  function showError(section, message) {
    const box = section.querySelector("[data-error]");
    if (!box) return;
    box.textContent = message || "";
    box.hidden = !message;
    const field = section.querySelector("input:not([type=hidden]):not([data-flag]), textarea");
    if (field && field.type !== "radio" && field.type !== "checkbox") {
      if (message) {
        field.setAttribute("aria-invalid", "true");
        field.setAttribute("aria-describedby", box.id);
      } else {
        field.removeAttribute("aria-invalid");
      }
    }
  }

  function formOf(section) {
    const body = new FormData();
    body.append("csrf_token", csrf);
    section.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name || el.disabled || el.matches("[data-flag]")) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      body.append(el.name, el.value);
    });
    return body;
  }

  async function save(section) {
    const slot = section.dataset.slot;
    setIndicator("Saving…", "saving");
    try {
      const reply = await fetch("/attempts/" + attemptId + "/autosave/" + slot, {
        method: "POST", body: formOf(section), credentials: "same-origin", headers: {"accept": "application/json"},
      });
      if (reply.ok) {
        const result = await reply.json();
        section.querySelector("[data-seq]").value = result.seq;
        navState(slot, result.state);
        showError(section, result.error);
        const readAs = section.querySelector("[data-read-as]");
        if (readAs) readAs.textContent = result.read_as ? "Read as " + result.read_as + "." : "";
        setIndicator(pending.size ? "Unsaved changes" : "All answers saved", pending.size ? "unsaved" : "saved");
      } else if (reply.status === 409) {
        setIndicator("Not saved: this attempt changed elsewhere or its time is up. Reload the page.", "error");
      } else {
        setIndicator("Not saved (" + reply.status + "). Use the Save button.", "error");
      }
    } catch (err) {
      setIndicator("Not saved: no connection. Retrying…", "error");
      schedule(section, 3000);
    }
  }

  function schedule(section, delay) {
    const slot = section.dataset.slot;
    clearTimeout(pending.get(slot));
    setIndicator("Unsaved changes", "unsaved");
    pending.set(slot, setTimeout(function () { pending.delete(slot); save(section); }, delay));
  }

  // Leaving the page (a reload, another tab, a phone locking) sends what has not been saved yet:
  // a keepalive request outlives the page. The seq it names is the one on the page, as any save's.
  // A reload may be served before that request lands, so the answers are also kept in this tab
  // (sessionStorage) with the seq they follow: the next page puts back any the server did not have.
  const keepKey = "assay-unsaved-" + attemptId;
  let tab = null;
  try { tab = window.sessionStorage; tab.getItem(keepKey); } catch (error) { tab = null; }

  function remember(slot, section) {
    if (!tab) return;
    const kept = JSON.parse(tab.getItem(keepKey) || "{}");
    const fields = [];
    section.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name || el.disabled || el.type === "hidden" || el.matches("[data-flag]")) return;
      const choice = el.type === "radio" || el.type === "checkbox";
      fields.push({name: el.name, value: el.value, checked: choice ? el.checked : null});
    });
    kept[slot] = {seq: section.querySelector("[data-seq]").value, fields: fields};
    try { tab.setItem(keepKey, JSON.stringify(kept)); } catch (error) { /* full: the keepalive save remains */ }
  }

  function restore() {
    if (!tab) return;
    const kept = JSON.parse(tab.getItem(keepKey) || "{}");
    tab.removeItem(keepKey);
    Object.keys(kept).forEach(function (slot) {
      const section = sectionOf(slot);
      // a newer step on the page means the server has the answer (or something newer): leave it
      if (!section || section.querySelector("[data-seq]").value !== kept[slot].seq) return;
      kept[slot].fields.forEach(function (field) {
        section.querySelectorAll("input, select, textarea").forEach(function (el) {
          if (el.name !== field.name || el.disabled) return;
          if (field.checked === null) el.value = field.value;
          else if (el.value === field.value) el.checked = field.checked;
        });
      });
      schedule(section, 0);
    });
  }

  function flush() {
    pending.forEach(function (timerId, slot) {
      clearTimeout(timerId);
      const section = sectionOf(slot);
      if (!section) return;
      remember(slot, section);
      fetch("/attempts/" + attemptId + "/autosave/" + slot, {
        method: "POST", body: formOf(section), credentials: "same-origin", keepalive: true,
        headers: {"accept": "application/json"},
      }).catch(function () { /* the page is going: nothing to tell */ });
    });
    pending.clear();
  }
  window.addEventListener("pagehide", flush);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush();
  });

  const form = document.querySelector("[data-attempt-form]");
  // The form carries every answer on the page: a save still waiting would only repeat it.
  form.addEventListener("submit", function () {
    pending.forEach(function (timerId) { clearTimeout(timerId); });
    pending.clear();
  });
  form.addEventListener("input", function (event) {
    const section = event.target.closest("section.question[data-slot]");
    if (!section || event.target.matches("[data-flag]")) return;
    if (event.target.matches("[data-words]")) countWords(event.target);
    schedule(section, event.target.tagName === "TEXTAREA" || event.target.type === "text" ? 800 : 150);
  });

  // Check and Try again: the question comes back re-rendered by the server (verdict, marks and
  // feedback as the quiz's review policy allows during the attempt), and replaces itself.
  form.addEventListener("click", async function (event) {
    const button = event.target.closest("button[data-check], button[data-try-again]");
    if (!button) return;
    event.preventDefault();
    const section = button.closest("section.question");
    const slot = section.dataset.slot;
    clearTimeout(pending.get(slot));
    pending.delete(slot);
    button.disabled = true;
    const action = button.matches("[data-check]") ? "check" : "try-again";
    try {
      const reply = await fetch("/attempts/" + attemptId + "/" + action + "/" + slot, {
        method: "POST", body: formOf(section), credentials: "same-origin", headers: {"accept": "application/json"},
      });
      if (!reply.ok) {
        button.disabled = false;
        setIndicator(reply.status === 409 ? "Not checked: this question changed elsewhere. Reload the page."
                                          : "Not checked (" + reply.status + "). Try again.", "error");
        return;
      }
      const result = await reply.json();
      const holder = document.createElement("div");
      holder.innerHTML = result.html;
      const fresh = holder.firstElementChild;
      section.replaceWith(fresh);
      navState(slot, result.state);
      bindFlags(fresh);
      fresh.querySelectorAll("[data-words]").forEach(countWords);
      document.dispatchEvent(new Event("assay:updated"));
      const focus = fresh.querySelector(action === "check" ? ".outcome, .feedback" : "input:not([type=hidden]):not([data-flag]), select, textarea");
      if (focus) {
        if (!focus.matches("input, select, textarea")) focus.setAttribute("tabindex", "-1");
        focus.focus();
      }
      setIndicator(pending.size ? "Unsaved changes" : "All answers saved", pending.size ? "unsaved" : "saved");
    } catch (err) {
      button.disabled = false;
      setIndicator("Not checked: no connection. Try again.", "error");
    }
  });

  // Flags: kept on the server, so they follow the student to another device or page.
  function bindFlags(scope) {
    scope.querySelectorAll("[data-flag]").forEach(function (box) {
      box.addEventListener("change", async function () {
        const slot = box.dataset.flag;
        navState(slot, null, box.checked);
        const body = new FormData();
        body.append("csrf_token", csrf);
        body.append("flagged", box.checked ? "1" : "0");
        try {
          const reply = await fetch("/attempts/" + attemptId + "/flag/" + slot, {
            method: "POST", body: body, credentials: "same-origin", headers: {"accept": "application/json"},
          });
          if (!reply.ok) setIndicator("Flag not saved (" + reply.status + "). Use the Save button.", "error");
        } catch (err) {
          setIndicator("Flag not saved: no connection. Use the Save button.", "error");
        }
      });
    });
  }
  bindFlags(document);
  restore();
  // An answer typed before this script ran (a slow connection, a quick student) had no one to hear
  // it: whatever differs from what the page was served with is saved now.
  document.querySelectorAll("section.question[data-slot]").forEach(function (section) {
    const changed = Array.prototype.some.call(section.querySelectorAll("input, select, textarea"), function (el) {
      if (!el.name || el.disabled || el.type === "hidden" || el.matches("[data-flag]")) return false;
      if (el.type === "radio" || el.type === "checkbox") return el.checked !== el.defaultChecked;
      if (el.tagName === "SELECT") {
        return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return el.value !== el.defaultValue;
    });
    if (changed && !pending.has(section.dataset.slot)) schedule(section, 0);
  });

  // Word counts for essays.
  function countWords(area) {
    const out = area.parentElement.querySelector("[data-word-count]");
    const words = area.value.trim() ? area.value.trim().split(/\s+/).length : 0;
    if (out) out.textContent = words + " word" + (words === 1 ? "" : "s");
  }
  document.querySelectorAll("[data-words]").forEach(countWords);

  // The timer: announced to screen readers at 5 and at 1 minute left; when time runs out, the
  // attempt is submitted (the server would close it anyway).
  const deadline = root.dataset.deadline ? Date.parse(root.dataset.deadline) : null;
  const shown = document.querySelector("[data-time-left]");
  const announce = document.querySelector("[data-time-announce]");
  if (deadline && shown) {
    const timer = document.querySelector("[data-timer]");
    const said = new Set();
    const tick = function () {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      shown.textContent = (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
      if (left <= 300 && timer) timer.classList.add("low");
      [5, 1].forEach(function (minutes) {
        if (left <= minutes * 60 && left > 0 && !said.has(minutes)) {
          said.add(minutes);
          if (minutes === 1 || left > 60) {
            announce.textContent = minutes === 1 ? "1 minute left." : "5 minutes left.";
          }
        }
      });
      if (left === 0) {
        clearInterval(handle);
        flushThenSubmit();
      }
    };
    const flushThenSubmit = async function () {
      const waiting = [];
      pending.forEach(function (timerId, slot) {
        clearTimeout(timerId);
        const section = sectionOf(slot);
        if (section) waiting.push(save(section));
      });
      pending.clear();
      await Promise.all(waiting);
      const out = document.createElement("form");
      out.method = "post";
      out.action = "/attempts/" + attemptId + "/submit";
      const field = document.createElement("input");
      field.type = "hidden"; field.name = "csrf_token"; field.value = csrf;
      out.appendChild(field);
      document.body.appendChild(out);
      out.submit();
    };
    const handle = setInterval(tick, 1000);
    tick();
  }
})();
