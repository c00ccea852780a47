// A launch whose session lives in its page (the frame keeps no cookie): the token in the page's
// <meta> goes with every request the page's scripts make, and a form a script submits carries it
// too; each answer brings a renewed token, which the page's links and forms then carry.
(function () {
  "use strict";
  const meta = document.querySelector('meta[name="assay-session"]');
  if (!meta) { return; }
  const PARAM = "lti_session";
  const HEADER = "X-Assay-Session";

  function withToken(url) {
    const parsed = new URL(url, window.location.href);
    if (parsed.origin !== window.location.origin) { return url; }
    parsed.searchParams.set(PARAM, meta.content);
    return parsed.pathname + parsed.search + parsed.hash;
  }

  function renew(token) {
    if (!token || token === meta.content) { return; }
    meta.content = token;
    document.querySelectorAll("a[href], form[action]").forEach(function (element) {
      const attribute = element.tagName === "A" ? "href" : "action";
      const value = element.getAttribute(attribute);
      if (value && value.indexOf(PARAM + "=") !== -1) { element.setAttribute(attribute, withToken(value)); }
    });
  }

  if (window.fetch) {
    const original = window.fetch.bind(window);
    window.fetch = function (input, init) {
      const url = new URL(typeof input === "string" ? input : input.url, window.location.href);
      if (url.origin !== window.location.origin) { return original(input, init); }
      const options = Object.assign({}, init || {});
      const headers = new Headers(options.headers || (typeof input === "string" ? undefined : input.headers));
      headers.set(HEADER, meta.content);
      options.headers = headers;
      return original(input, options).then(function (reply) {
        renew(reply.headers.get(HEADER));
        return reply;
      });
    };
  }

  const submit = HTMLFormElement.prototype.submit;
  HTMLFormElement.prototype.submit = function () {
    this.setAttribute("action", withToken(this.getAttribute("action") || window.location.href));
    return submit.call(this);
  };
})();
