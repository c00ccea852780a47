// The framed login: the state and nonce go to the platform's storage (when it has one) as well as
// in a cookie; then on to the platform. Where neither a cookie nor the storage works, the page
// offers a new window instead.
(function () {
  "use strict";
  const root = document.getElementById("lti-login");
  const data = root.dataset;
  const progress = document.getElementById("lti-progress");

  function cookieKept() {
    return document.cookie.split(";").some(function (c) { return c.trim().startsWith(data.probeCookie + "="); });
  }

  async function stored() {
    const storage = window.AssayPlatformStorage;
    const target = await storage.storageWindow(data.storageTarget);
    if (!target) { return false; }
    try {
      return (await storage.put(target, data.storageOrigin, "state_" + data.state, data.state)) &&
             (await storage.put(target, data.storageOrigin, "nonce_" + data.nonce, data.nonce));
    } catch (error) { return false; }
  }

  (async function () {
    const inStorage = await stored();
    if (inStorage || cookieKept()) {
      window.location.replace(data.authUrl);
      return;
    }
    progress.textContent = "Assay needs a window of its own here.";
    document.getElementById("lti-new-window").hidden = false;
  })();
})();
