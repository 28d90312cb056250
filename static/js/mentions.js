// @mention autocomplete for comment boxes (textarea[data-mentions]). The members one may
// mention come from the page (#mentionable-members); typing @ and a few letters lists them,
// and Enter, Tab or a click puts "@username " in the text.
(function () {
  "use strict";
  let list = null;
  let field = null;
  let matches = [];
  let active = 0;

  function members() {
    const data = document.getElementById("mentionable-members");
    return data ? JSON.parse(data.textContent) : [];
  }

  function query(textarea) {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const found = /(^|[^\w@./])@([\w.+-]{0,30})$/.exec(before);
    return found ? found[2].toLowerCase() : null;
  }

  function close() {
    if (list) list.remove();
    list = null;
    matches = [];
  }

  function choose(member) {
    const start = field.selectionStart;
    const before = field.value.slice(0, start).replace(/@[\w.+-]*$/, "@" + member.username + " ");
    field.value = before + field.value.slice(start);
    field.selectionStart = field.selectionEnd = before.length;
    field.focus();
    close();
  }

  function show(textarea, text) {
    close();
    matches = members().filter(function (m) {
      return m.username.toLowerCase().startsWith(text) || m.name.toLowerCase().includes(text);
    }).slice(0, 6);
    if (!matches.length) return;
    field = textarea;
    active = 0;
    list = document.createElement("ul");
    list.className = "mention-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Members to mention");
    matches.forEach(function (member, index) {
      const option = document.createElement("li");
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", index === active ? "true" : "false");
      option.textContent = member.name + " (@" + member.username + ")";
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
        choose(member);
      });
      list.appendChild(option);
    });
    textarea.parentNode.appendChild(list);
  }

  function highlight() {
    Array.from(list.children).forEach(function (option, index) {
      option.setAttribute("aria-selected", index === active ? "true" : "false");
    });
  }

  document.addEventListener("input", function (event) {
    if (!event.target.matches("textarea[data-mentions]")) return;
    const text = query(event.target);
    if (text === null) close(); else show(event.target, text);
  });
  document.addEventListener("keydown", function (event) {
    if (!list || event.target !== field) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      active = (active + (event.key === "ArrowDown" ? 1 : matches.length - 1)) % matches.length;
      highlight();
      event.preventDefault();
    } else if (event.key === "Enter" || event.key === "Tab") {
      choose(matches[active]);
      event.preventDefault();
    } else if (event.key === "Escape") {
      close();
    }
  });
  document.addEventListener("focusout", function (event) {
    if (event.target === field) window.setTimeout(close, 150);
  });
})();
