/* Ancrage: type-ahead over the choice of an organisation (progressive enhancement).
 *
 * Without this script, the page shows a plain <select> (or checkboxes), which works. With it:
 * - a <select data-picker="organisation"> becomes an ARIA 1.2 combobox (an input that filters
 *   the select's own options as one types, and a listbox); the select stays in the form, hidden,
 *   and holds the value that is submitted;
 * - checkboxes marked data-picker="filtre" get a filter box above them.
 * Nothing is fetched: the options are those the page already holds. Loaded with the page's
 * CSP nonce; no inline script, no external resource.
 */
(function () {
  "use strict";

  var MAX_SHOWN = 60;
  var counter = 0;

  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }

  function liveRegion() {
    var status = document.createElement("p");
    status.className = "fr-sr-only";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    return status;
  }

  function plural(n, one, many) {
    return n + " " + (n > 1 ? many : one);
  }

  function enhanceSelect(select) {
    if (select.multiple || select.dataset.pickerReady) {
      return;
    }
    select.dataset.pickerReady = "1";
    counter += 1;
    var baseId = select.id || "organisation-" + counter;
    var listId = baseId + "-liste";
    var options = [];
    var emptyOption = null;
    Array.prototype.forEach.call(select.options, function (option) {
      if (option.value === "") {
        emptyOption = option;
        return;
      }
      var group = option.parentElement && option.parentElement.tagName === "OPTGROUP" ? option.parentElement.label : "";
      options.push({ value: option.value, text: option.text, key: fold(option.text), group: group });
    });

    var wrapper = document.createElement("div");
    wrapper.className = "ancrage-picker";
    var input = document.createElement("input");
    input.type = "text";
    input.className = "fr-input";
    input.id = baseId + "-recherche";
    input.autocomplete = "off";
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.placeholder = "Tapez quelques lettres du nom";
    if (select.getAttribute("aria-describedby")) {
      input.setAttribute("aria-describedby", select.getAttribute("aria-describedby"));
    }
    if (select.getAttribute("aria-invalid")) {
      input.setAttribute("aria-invalid", select.getAttribute("aria-invalid"));
    }
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "ancrage-picker__list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var status = liveRegion();

    var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
    if (label) {
      label.htmlFor = input.id;
      list.setAttribute("aria-label", label.textContent.trim());
    } else if (select.getAttribute("aria-label")) {
      input.setAttribute("aria-label", select.getAttribute("aria-label"));
    }

    var active = -1;
    var shown = [];

    function selectedText() {
      var option = select.options[select.selectedIndex];
      return option && option.value !== "" ? option.text : "";
    }

    function setActive(index) {
      var items = list.querySelectorAll('[role="option"]');
      Array.prototype.forEach.call(items, function (item, i) {
        item.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function render() {
      var query = fold(input.value);
      var matches = options.filter(function (option) {
        return query === "" || option.key.indexOf(query) !== -1;
      });
      shown = matches.slice(0, MAX_SHOWN);
      list.textContent = "";
      var currentGroup = null;
      var groupList = list;
      shown.forEach(function (option, i) {
        if (option.group && option.group !== currentGroup) {
          currentGroup = option.group;
          var holder = document.createElement("li");
          holder.setAttribute("role", "presentation");
          var heading = document.createElement("span");
          heading.className = "ancrage-picker__group";
          heading.id = listId + "-groupe-" + i;
          heading.textContent = option.group;
          groupList = document.createElement("ul");
          groupList.setAttribute("role", "group");
          groupList.setAttribute("aria-labelledby", heading.id);
          holder.appendChild(heading);
          holder.appendChild(groupList);
          list.appendChild(holder);
        }
        var item = document.createElement("li");
        item.id = listId + "-" + i;
        item.className = "ancrage-picker__option";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.textContent = option.text;
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          choose(option);
        });
        groupList.appendChild(item);
      });
      if (!shown.length) {
        var none = document.createElement("li");
        none.setAttribute("role", "presentation");
        none.className = "ancrage-picker__empty";
        none.textContent = "Aucune organisation ne correspond.";
        list.appendChild(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      setActive(-1);
      var more = matches.length > shown.length ? " ; les " + MAX_SHOWN + " premières sont affichées, précisez la recherche" : "";
      status.textContent = plural(matches.length, "organisation correspond", "organisations correspondent") + more + ".";
    }

    function choose(option) {
      select.value = option.value;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      input.value = option.text;
      status.textContent = option.text + " choisie.";
      close();
    }

    input.value = selectedText();
    input.addEventListener("input", function () {
      if (input.value === "" && emptyOption) {
        select.value = "";
      }
      render();
    });
    input.addEventListener("focus", function () {
      input.select();
    });
    input.addEventListener("click", render);
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (list.hidden) {
          render();
        }
        var count = shown.length;
        if (!count) {
          return;
        }
        var next = event.key === "ArrowDown" ? active + 1 : active - 1;
        setActive((next + count) % count);
      } else if (event.key === "Enter") {
        if (!list.hidden && active >= 0) {
          event.preventDefault();
          choose(shown[active]);
        }
      } else if (event.key === "Escape") {
        if (!list.hidden) {
          event.preventDefault();
          close();
        }
        input.value = selectedText();
      } else if (event.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", function () {
      close();
      if (input.value !== selectedText()) {
        if (input.value === "" && emptyOption) {
          select.value = "";
        }
        input.value = selectedText();
      }
    });

    select.hidden = true;
    select.setAttribute("aria-hidden", "true");
    select.tabIndex = -1;
    select.parentNode.insertBefore(wrapper, select);
    wrapper.appendChild(input);
    wrapper.appendChild(list);
    wrapper.appendChild(status);
    wrapper.appendChild(select);
  }

  function enhanceCheckboxes(boxes) {
    if (boxes.length < 8 || boxes[0].dataset.pickerReady) {
      return;
    }
    counter += 1;
    var items = boxes.map(function (box) {
      box.dataset.pickerReady = "1";
      var row = box.closest(".fr-fieldset__element") || box.closest(".fr-checkbox-group") || box.parentElement;
      var label = box.id ? document.querySelector('label[for="' + box.id + '"]') : null;
      return { row: row, key: fold(label ? label.textContent : box.value) };
    });
    var group = document.createElement("div");
    group.className = "fr-input-group ancrage-picker__filter";
    var label = document.createElement("label");
    label.className = "fr-label";
    label.htmlFor = "filtre-organisations-" + counter;
    label.textContent = "Filtrer la liste";
    var input = document.createElement("input");
    input.type = "search";
    input.className = "fr-input";
    input.id = label.htmlFor;
    input.autocomplete = "off";
    input.placeholder = "Tapez quelques lettres du nom";
    var status = liveRegion();
    input.addEventListener("input", function () {
      var query = fold(input.value);
      var visible = 0;
      items.forEach(function (item) {
        var match = query === "" || item.key.indexOf(query) !== -1;
        item.row.hidden = !match;
        visible += match ? 1 : 0;
      });
      status.textContent = plural(visible, "organisation affichée", "organisations affichées") + ".";
    });
    group.appendChild(label);
    group.appendChild(input);
    group.appendChild(status);
    var first = items[0].row;
    first.parentNode.insertBefore(group, first);
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll('select[data-picker="organisation"]'), enhanceSelect);
    // The checkboxes of one field share its name.
    var byName = new Map();
    Array.prototype.forEach.call(document.querySelectorAll('input[data-picker="filtre"]'), function (box) {
      var key = (box.form ? box.form.id || "form" : "") + "|" + box.name;
      if (!byName.has(key)) {
        byName.set(key, []);
      }
      byName.get(key).push(box);
    });
    byName.forEach(enhanceCheckboxes);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
