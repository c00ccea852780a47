// Starts Swagger UI on /docs (an inline script would be refused by the page's policy).
(function () {
  "use strict";
  const root = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({
    url: root.getAttribute("data-spec"),
    dom_id: "#swagger-ui",
    oauth2RedirectUrl: window.location.origin + root.getAttribute("data-oauth2-redirect"),
    deepLinking: true,
    persistAuthorization: false,
  });
})();
