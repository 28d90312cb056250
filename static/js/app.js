// Small behaviours the pages ask for with data- attributes, wired here rather than in inline
// handlers so that the Content-Security-Policy can refuse every inline script. The listeners
// sit on the document, so content that htmx or a live refresh swaps in works without setup.
//   data-autosubmit        on a select or checkbox: a change submits its form
//   data-confirm="..."     on a submit button: asks first, and a "Cancel" submits nothing
//   data-select-on-click   on a read-only field: a click selects all of its text to copy
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    const field = event.target;
    if (!field.matches("[data-autosubmit]") || !field.form) return;
    // requestSubmit, unlike submit, runs the form's submit listeners (htmx's among them).
    field.form.requestSubmit();
  });

  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-confirm]");
    if (button && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
      return;
    }
    if (event.target.matches("[data-select-on-click]")) event.target.select();
  });
})();
