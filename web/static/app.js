/* Commons: small progressive enhancements on top of htmx. Every page works without this file. */
(function () {
  "use strict";

  function focusable(element) {
    if (!element.hasAttribute("tabindex")) element.setAttribute("tabindex", "-1");
    return element;
  }

  /* After htmx swaps new content in, put keyboard and screen-reader focus where a full page load would:
     on the error summary if there is one, else on an element marked data-focus-after-swap (a page's
     heading, a confirmation). Content swapped while the user is typing in a filter (data-keep-focus
     on the form) leaves focus alone; its results are announced by an aria-live region instead. */
  document.addEventListener("htmx:afterSettle", function (event) {
    // htmx fires afterSettle on each element it settled: after an outerHTML swap, the new one.
    var target = event.target;
    if (!target || !target.querySelector) return;
    var trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
    var summary = target.matches(".error-summary") ? target : target.querySelector(".error-summary");
    if (summary) {
      focusable(summary).focus();
      return;
    }
    if (trigger && trigger.closest && trigger.closest("[data-keep-focus]")) return;
    var marked = target.matches("[data-focus-after-swap]") ? target : target.querySelector("[data-focus-after-swap]");
    if (marked) focusable(marked).focus();
  });
})();

/* Register: a tick that never reached the server (no connection) or failed there says so in its row; the
   buttons stay, so tapping again retries. A tick the server refused (409, 422) swaps in the row with its message. */
(function () {
  "use strict";
  function showSendError(event) {
    var elt = event.detail && event.detail.elt;
    var row = elt && elt.closest && elt.closest("[data-register-row]");
    var message = row && row.querySelector("[data-send-error]");
    if (message) message.textContent = message.getAttribute("data-message");
  }
  document.addEventListener("htmx:sendError", showSendError);
  document.addEventListener("htmx:responseError", showSendError);
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    var row = elt && elt.closest && elt.closest("[data-register-row]");
    var message = row && row.querySelector("[data-send-error]");
    if (message) message.textContent = "";
  });
})();
