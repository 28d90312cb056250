// Small behaviours the pages ask for with data- attributes, wired here rather than in inline
// handlers so that the Content-Security-Policy can refuse every inline script. The listeners
// sit on the document, so content that htmx or a live refresh swaps in works without setup.
//   data-autosubmit        on a select or checkbox: a change submits its form
//   data-confirm="..."     on a submit button: asks first, and a "Cancel" submits nothing
//   data-select-on-click   on a read-only field: a click selects all of its text to copy
//   data-menu-toggle       on a button: opens and closes the element its aria-controls names
//                          (the navigation menu on a phone); Escape closes it
// The plan's tabs scroll sideways on a phone; the current one is brought into view.
(function () {
  "use strict";

  // The menu button is hidden in the page, so that without this script the links stay shown.
  document.querySelectorAll("[data-menu-toggle]").forEach(function (button) {
    button.hidden = false;
  });

  function setMenu(button, open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll('[data-menu-toggle][aria-expanded="true"]').forEach(function (button) {
      setMenu(button, false);
      button.focus();
    });
  });

  function showCurrentTab() {
    document.querySelectorAll(".tabs").forEach(function (tabs) {
      const current = tabs.querySelector('[aria-current="page"]');
      if (!current || tabs.scrollWidth <= tabs.clientWidth) return;
      // Centre it by scrolling the row alone: scrollIntoView could move the page as well.
      tabs.scrollLeft = current.offsetLeft - (tabs.clientWidth - current.offsetWidth) / 2;
    });
  }
  showCurrentTab();
  // A live refresh replaces the tabs, which then start scrolled to the left again.
  document.addEventListener("live:refreshed", showCurrentTab);

  document.addEventListener("change", function (event) {
    const field = event.target;
    if (!field.matches("[data-autosubmit]") || !field.form) return;
    // requestSubmit, unlike submit, runs the form's submit listeners (htmx's among them).
    field.form.requestSubmit();
  });

  document.addEventListener("click", function (event) {
    const toggle = event.target.closest("[data-menu-toggle]");
    if (toggle) setMenu(toggle, toggle.getAttribute("aria-expanded") !== "true");
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (event.target.matches("[data-select-on-click]")) event.target.select();
  });
})();
