// A launch that came back without its state cookie: the state and nonce must be in the platform's
// storage, put there by this browser's login; only then does the page post the launch on.
(function () {
  "use strict";
  const data = document.getElementById("lti-launch-check").dataset;

  function fail() {
    document.getElementById("lti-progress").textContent = "This launch could not be confirmed.";
    document.getElementById("lti-check-failed").hidden = false;
  }

  (async function () {
    const storage = window.AssayPlatformStorage;
    const target = await storage.storageWindow(data.storageTarget);
    if (!target || !data.state || !data.nonce) { fail(); return; }
    try {
      const state = await storage.get(target, data.storageOrigin, "state_" + data.state);
      const nonce = await storage.get(target, data.storageOrigin, "nonce_" + data.nonce);
      if (state === data.state && nonce === data.nonce) {
        document.getElementById("lti-verify").submit();
        return;
      }
    } catch (error) { /* no answer, or an error from the platform: not confirmed */ }
    fail();
  })();
})();
