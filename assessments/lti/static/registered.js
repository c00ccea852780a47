// Dynamic Registration's last step (DR §3.7): tell the LMS that opened this page to close it.
(function () {
  "use strict";
  const button = document.getElementById("lti-close");
  const platform = window.parent !== window ? window.parent : window.opener;
  if (!platform) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    platform.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
  });
})();
