// Progressive enhancement for the attempt page: autosave, the timer, flags and word counts.
// Without this script the page still works: its Save and Finish buttons post the whole form.
(function () {
  "use strict";
  const root = document.querySelector("[data-attempt]");
  if (!root) return;
  const attemptId = root.dataset.attempt;
  const csrf = root.dataset.csrf;
  const indicator = document.querySelector("[data-save-state]");
  const pending = new Map();   // slot -> timer
  let unsaved = 0;

  function setIndicator(text, kind) {
    if (!indicator) return;
    indicator.textContent = text;
    indicator.dataset.kind = kind;
  }

  function navState(slot, state) {
    const link = document.querySelector('[data-nav="' + slot + '"]');
    if (link) {
      link.classList.remove("not_answered", "answered", "invalid");
      link.classList.add(state);
    }
  }

  async function save(section) {
    const slot = section.dataset.slot;
    const body = new FormData();
    body.append("csrf_token", csrf);
    section.querySelectorAll("input, select, textarea").forEach(function (el) {
      if (!el.name) return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      body.append(el.name, el.value);
    });
    setIndicator("Saving…", "saving");
    try {
      const reply = await fetch("/attempts/" + attemptId + "/autosave/" + slot, {
        method: "POST", body: body, credentials: "same-origin", headers: {"accept": "application/json"},
      });
      if (reply.ok) {
        const result = await reply.json();
        section.querySelector("[data-seq]").value = result.seq;
        navState(slot, result.state);
        unsaved = Math.max(0, unsaved - 1);
        setIndicator(unsaved ? "Unsaved changes" : "All answers saved", unsaved ? "unsaved" : "saved");
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
    if (!pending.has(slot)) unsaved += 1;
    clearTimeout(pending.get(slot));
    setIndicator("Unsaved changes", "unsaved");
    pending.set(slot, setTimeout(function () { pending.delete(slot); save(section); }, delay));
  }

  document.querySelectorAll("section.question[data-slot]").forEach(function (section) {
    section.addEventListener("input", function (event) {
      if (event.target.matches("[data-flag]")) return;
      schedule(section, event.target.tagName === "TEXTAREA" || event.target.type === "text" ? 800 : 150);
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (pending.size) { event.preventDefault(); }
  });

  // Flags: a student's own reminders, kept in this browser.
  // A browser may deny storage to a page in another site's frame (an LMS's): then flags last the page.
  const flagKey = "assay-flags-" + attemptId;
  let kept = null;
  try { kept = window.localStorage; kept.getItem(flagKey); } catch (error) { kept = null; }
  const flags = new Set(JSON.parse((kept && kept.getItem(flagKey)) || "[]"));
  document.querySelectorAll("[data-flag]").forEach(function (box) {
    const slot = box.dataset.flag;
    box.checked = flags.has(slot);
    const link = document.querySelector('[data-nav="' + slot + '"]');
    if (link) link.classList.toggle("flagged", box.checked);
    box.addEventListener("change", function () {
      if (box.checked) flags.add(slot); else flags.delete(slot);
      if (kept) kept.setItem(flagKey, JSON.stringify(Array.from(flags)));
      if (link) link.classList.toggle("flagged", box.checked);
    });
  });

  // Word counts for essays.
  document.querySelectorAll("[data-words]").forEach(function (area) {
    const out = area.parentElement.querySelector("[data-word-count]");
    function count() {
      const words = area.value.trim() ? area.value.trim().split(/\s+/).length : 0;
      if (out) out.textContent = words + " word" + (words === 1 ? "" : "s");
    }
    area.addEventListener("input", count);
    count();
  });

  // The timer: when time runs out, the attempt is submitted (the server would close it anyway).
  const deadline = root.dataset.deadline ? Date.parse(root.dataset.deadline) : null;
  const shown = document.querySelector("[data-time-left]");
  if (deadline && shown) {
    const timer = document.querySelector("[data-timer]");
    const tick = function () {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      const h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      shown.textContent = (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
      if (left <= 300 && timer) timer.classList.add("low");
      if (left === 0) {
        clearInterval(handle);
        flushThenSubmit();
      }
    };
    const flushThenSubmit = async function () {
      const waiting = [];
      pending.forEach(function (timerId, slot) {
        clearTimeout(timerId);
        const section = document.querySelector('section.question[data-slot="' + slot + '"]');
        if (section) waiting.push(save(section));
      });
      pending.clear();
      await Promise.all(waiting);
      {
        const form = document.createElement("form");
        form.method = "post";
        form.action = "/attempts/" + attemptId + "/submit";
        const field = document.createElement("input");
        field.type = "hidden"; field.name = "csrf_token"; field.value = csrf;
        form.appendChild(field);
        document.body.appendChild(form);
        form.submit();
      }
    };
    const handle = setInterval(tick, 1000);
    tick();
  }
})();
