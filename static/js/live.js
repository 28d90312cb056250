// Live plan pages. The poller (#live, polled by htmx) fires "plan-changed" when someone else
// changed the plan; this script then reloads the page's content (#live-content) in place. It
// waits while the person is typing: a field with focus, or text typed and not yet saved.
// The confirmations shown above the content go with the content they confirmed.
(function () {
  "use strict";
  let pending = false;

  function unsaved(field) {
    if (field.matches("select")) {
      const options = Array.from(field.options);
      if (field.multiple) {
        return options.some(function (option) { return option.selected !== option.defaultSelected; });
      }
      // With no option marked selected in the page, the first one is the default.
      const initial = Math.max(0, options.findIndex(function (option) {
        return option.defaultSelected;
      }));
      return field.selectedIndex !== -1 && field.selectedIndex !== initial;
    }
    if (field.type === "checkbox" || field.type === "radio") {
      return field.checked !== field.defaultChecked;
    }
    if (field.type === "hidden" || field.type === "file") return false;
    return field.value !== field.defaultValue;
  }

  // Busy: a field has focus, a field holds something not saved, or the page shows what went
  // wrong with a form (the answer to a POST, or a refusal shown in place, whose text a reload
  // would throw away), or something shown once (`data-live-hold`: a new webhook's secret).
  function typing(region) {
    const active = document.activeElement;
    if (active && region.contains(active) && active.matches("input, textarea, select")) {
      return true;
    }
    if (region.querySelector(".errorlist, .field-error, .message-error, [data-live-hold]")) {
      return true;
    }
    return Array.from(region.querySelectorAll("input, textarea, select")).some(unsaved);
  }

  async function refresh() {
    const region = document.getElementById("live-content");
    if (!region) return;
    if (typing(region)) { pending = true; return; }
    pending = false;
    // The page's own address, which answers GET: the answer to a form post sits at the post's
    // URL, which may answer POST only (base.html).
    const response = await fetch(region.dataset.refreshUrl || window.location.href, {
      headers: { "X-Live-Refresh": "1" }, credentials: "same-origin",
    });
    if (!response.ok || response.redirected) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById("live-content");
    if (!fresh) return;
    if (typing(region)) { pending = true; return; }
    region.innerHTML = fresh.innerHTML;
    // A confirmation ("Recorded: …", "… queued") told of the page as it was; the page has
    // moved on since, so it goes. Errors stay: what was refused is still refused.
    document.querySelectorAll(".messages .message-success, .messages .message-info").forEach(
      function (message) { message.remove(); }
    );
    if (window.htmx) window.htmx.process(region);
    region.dispatchEvent(new CustomEvent("live:refreshed", { bubbles: true }));
  }

  document.addEventListener("plan-changed", refresh);
  // Once the person leaves the field (or saves), a refresh that waited happens.
  document.addEventListener("focusout", function () {
    window.setTimeout(function () { if (pending) refresh(); }, 200);
  });
  document.addEventListener("htmx:afterRequest", function () {
    window.setTimeout(function () { if (pending) refresh(); }, 200);
  });
})();
