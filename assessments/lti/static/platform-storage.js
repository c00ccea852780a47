// The platform's storage, through 1EdTech's LTI Client Side postMessages (lti.capabilities) and
// postMessage Storage (lti.put_data, lti.get_data): where a frame keeps no cookie, the LMS keeps
// the login's state and nonce for Assay. Every answer is matched by its message_id, and the
// storage's answers must come from the platform's origin (the OIDC authorisation endpoint's).
window.AssayPlatformStorage = (function () {
  "use strict";
  const TIMEOUT_MS = 2000;

  function platformWindow() {
    if (window.parent && window.parent !== window) { return window.parent; }
    return window.opener || null;
  }

  function ask(target, targetOrigin, message, acceptOrigin) {
    return new Promise(function (resolve, reject) {
      const id = "assay-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
      const timer = window.setTimeout(function () { done(); reject(new Error("no answer to " + message.subject)); },
                                      TIMEOUT_MS);
      function listen(event) {
        const data = event.data;
        if (!data || typeof data !== "object" || data.message_id !== id) { return; }
        if (data.subject !== message.subject + ".response") { return; }
        if (acceptOrigin && event.origin !== acceptOrigin) { return; }
        done();
        if (data.error) { reject(new Error(data.error.code + ": " + (data.error.message || ""))); } else { resolve(data); }
      }
      function done() { window.clearTimeout(timer); window.removeEventListener("message", listen); }
      window.addEventListener("message", listen);
      try {
        target.postMessage(Object.assign({ message_id: id }, message), targetOrigin);
      } catch (error) { done(); reject(error); }
    });
  }

  // The window that stores: the frame lti.capabilities names for lti.put_data, else the
  // lti_storage_target the platform gave ("_parent", or the name of one of its frames).
  async function storageWindow(targetName) {
    const parent = platformWindow();
    if (!parent) { return null; }
    let name = targetName || null;
    try {
      const capabilities = await ask(parent, "*", { subject: "lti.capabilities" }, null);
      const supported = Array.isArray(capabilities.supported_messages) ? capabilities.supported_messages : [];
      const put = supported.find(function (m) { return m && m.subject === "lti.put_data"; });
      const get = supported.find(function (m) { return m && m.subject === "lti.get_data"; });
      if (put && get) { name = put.frame || name || "_parent"; } else if (!targetName) { return null; }
    } catch (error) {
      if (!targetName) { return null; }
    }
    if (name === "_parent") { return parent; }
    try { return parent.frames[name] || null; } catch (error) { return null; }
  }

  async function put(target, origin, key, value) {
    const answer = await ask(target, origin, { subject: "lti.put_data", key: key, value: value }, origin);
    return answer.value === value;
  }

  async function get(target, origin, key) {
    const answer = await ask(target, origin, { subject: "lti.get_data", key: key }, origin);
    return answer.value;
  }

  return { storageWindow: storageWindow, put: put, get: get };
})();
