// A request the server was too busy to take (503 with Retry-After, e.g. starting a quiz as the whole
// class does): the page says when it will try again and sends its form again by itself. Without
// JavaScript the form's "Try again" button does the same.
(function () {
  "use strict";
  const form = document.querySelector("form[data-retry-after]");
  if (!form) {
    return;
  }
  const status = form.querySelector(".retry-status");
  let left = Math.max(1, parseInt(form.getAttribute("data-retry-after"), 10) || 1);
  function tick() {
    if (left <= 0) {
      status.textContent = "Trying again now…";
      form.submit();
      return;
    }
    status.textContent = "Trying again by itself in " + left + (left === 1 ? " second…" : " seconds…");
    left -= 1;
    window.setTimeout(tick, 1000);
  }
  status.hidden = false;
  tick();
})();
