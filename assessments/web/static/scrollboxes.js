// Wide tables and formulas scroll in their own boxes (the page never scrolls sideways): a box that
// does scroll is made reachable by keyboard, so that its hidden part can be scrolled into view.
(function () {
  "use strict";
  function mark() {
    document.querySelectorAll(".prose math, .prose table, .feedback math, label.option math").forEach(function (box) {
      const scrolls = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
      const style = window.getComputedStyle(box);
      if (scrolls && style.overflowX !== "visible") {
        box.setAttribute("tabindex", "0");
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
  document.addEventListener("assay:updated", mark);
})();
