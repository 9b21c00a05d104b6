/* QA workspace keyboard shortcuts and transcript quoting.
 *
 * Progressive enhancement: the scorecard is a plain HTML form that works without this file. Here we
 * only move a "current criterion" marker, tick radio buttons (whose change event htmx turns into an
 * autosave), and copy transcript lines into the quote field. Nothing is inserted as HTML: transcript
 * text is read with textContent and written to textarea.value.
 */
(function () {
  "use strict";

  var form = document.getElementById("scorecard-form");
  var dialog = document.getElementById("shortcuts");
  var current = null;

  function toggleShortcuts() {
    if (!dialog) return;
    if (dialog.open) dialog.close();
    else dialog.showModal();
  }
  document.querySelectorAll('[data-action="show-shortcuts"]').forEach(function (button) {
    button.addEventListener("click", toggleShortcuts);
  });

  function criteria() {
    return form ? Array.prototype.slice.call(form.querySelectorAll('fieldset.criterion[data-applies="1"]')) : [];
  }

  function isAnswered(el) {
    return !!el.querySelector('input[type="radio"]:checked');
  }

  function setCurrent(el, options) {
    options = options || {};
    if (!el) return;
    if (current && current !== el) current.classList.remove("is-current");
    current = el;
    el.classList.add("is-current");
    if (options.focus !== false) el.focus({ preventScroll: true });
    if (options.scroll !== false) el.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }

  function move(delta) {
    var list = criteria();
    if (!list.length) return;
    var index = list.indexOf(current);
    if (index === -1) index = delta > 0 ? -1 : list.length;
    setCurrent(list[Math.max(0, Math.min(list.length - 1, index + delta))]);
  }

  function ensureCurrent() {
    if (current) return current;
    var list = criteria();
    setCurrent(list.filter(function (el) { return !isAnswered(el); })[0] || list[0]);
    return current;
  }

  function hint(el, text) {
    var status = el && el.querySelector(".save-status");
    if (!status) return;
    status.textContent = text;
    status.classList.add("error");
  }

  function choose(value) {
    var el = ensureCurrent();
    if (!el) return;
    var input = el.querySelector('input[type="radio"][value="' + value + '"]');
    if (!input) {
      hint(el, value === "na" ? "N/A is not allowed here." : "No such answer on this criterion.");
      return;
    }
    if (!input.checked) {
      input.checked = true;
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    el.classList.add("answered");
    el.classList.remove("missing");
  }

  function answerYesNo(isYes) {
    var el = ensureCurrent();
    if (!el) return;
    if (el.dataset.scale === "points") choose(isYes ? el.dataset.max : "0");
    else choose(isYes ? "1" : "0");
  }

  // "Use suggestion" (button or u): tick the suggested answer and quote the evidence line, then let the usual
  // change event autosave both. The quote is read from a data attribute and written to textarea.value.
  function useSuggestion(el) {
    el = el || ensureCurrent();
    if (!el) return;
    var button = el.querySelector("button.use-suggestion");
    if (!button) {
      hint(el, el.querySelector(".autocheck") ? "Your answer already agrees with the suggestion." : "No auto-check suggestion on this criterion.");
      return;
    }
    var input = el.querySelector('input[type="radio"][value="' + button.dataset.value + '"]');
    if (!input) return;
    var evidence = button.dataset.quote;
    var quote = el.querySelector('textarea[name$="-quote"]');
    if (quote && evidence && quote.value.indexOf(evidence) === -1) {
      quote.value = quote.value ? quote.value + "\n" + evidence : evidence;
      var details = el.querySelector("details.extras");
      if (details) details.open = true;
    }
    setCurrent(el, { scroll: false });
    input.checked = true;
    // Always fire: the answer may already be ticked while the quote is new.
    input.dispatchEvent(new Event("change", { bubbles: true }));
    el.classList.add("answered");
    el.classList.remove("missing");
  }

  function focusComment() {
    var el = ensureCurrent();
    if (!el) return;
    var details = el.querySelector("details.extras");
    if (details) details.open = true;
    var comment = el.querySelector("textarea.comment");
    if (comment) comment.focus();
  }

  function submit() {
    if (!form) return;
    var missing = criteria().filter(function (el) { return !isAnswered(el); });
    if (missing.length) {
      var message = missing.length + (missing.length === 1 ? " criterion is" : " criteria are") +
        " still unanswered. Submit anyway? (The evaluation will not be accepted until they are answered.)";
      if (!window.confirm(message)) {
        setCurrent(missing[0]);
        return;
      }
    }
    var button = document.getElementById("submit-evaluation");
    if (form.requestSubmit) form.requestSubmit(button);
    else button.click();
  }

  function isTyping(target) {
    return target.matches && target.matches('textarea, select, [contenteditable], input:not([type="radio"]):not([type="checkbox"])');
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      if (form) {
        event.preventDefault();
        submit();
      }
      return;
    }
    if (isTyping(target)) {
      if (event.key === "Escape" && form && form.contains(target)) {
        target.blur();
        // A blurred comment fires "change", which autosaves it.
        if (current) current.focus({ preventScroll: true });
      }
      return;
    }
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "?") {
      event.preventDefault();
      toggleShortcuts();
      return;
    }
    if (dialog && dialog.open) return;
    // The recording's keys work on a finished evaluation too (the form is gone, the call is not).
    var recording = window.qaRecording;
    if (recording && event.key === "p" && recording.toggle()) { event.preventDefault(); return; }
    if (recording && (event.key === "b" || event.key === "f") && recording.skip(event.key === "b" ? -10 : 10)) {
      event.preventDefault();
      return;
    }
    if (!form) return;
    // On a focused radio button the arrow keys keep their own meaning: the next or previous answer of that
    // criterion (j and k still move between criteria).
    if (target.type === "radio" && event.key.indexOf("Arrow") === 0) return;
    switch (event.key) {
      case "j": case "ArrowDown": move(1); break;
      case "k": case "ArrowUp": move(-1); break;
      case "y": answerYesNo(true); break;
      case "n": answerYesNo(false); break;
      case "a": choose("na"); break;
      case "u": useSuggestion(); break;
      case "c": focusComment(); break;
      case "S": submit(); break;
      default:
        if (/^[0-9]$/.test(event.key)) choose(event.key);
        else return;
    }
    event.preventDefault();
  });

  if (!form) return;

  // An autosave that fails (server error, lost permission, network down) must say so: the ticked answer
  // or typed comment is only in the browser until it is saved again (or the form is submitted).
  function autosaveFailed(event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !form.contains(elt)) return;
    var xhr = event.detail.xhr;
    var why = xhr && xhr.status ? "error " + xhr.status : "no connection";
    var message = "Not saved (" + why + "). Answer again, or reload the page.";
    var criterion = elt.closest("fieldset.criterion");
    if (criterion) {
      hint(criterion, message);
      return;
    }
    var summary = document.getElementById("summary-status");
    if (summary && elt.id === "id_summary") {
      summary.textContent = message;
      summary.classList.add("error");
    }
  }
  document.body.addEventListener("htmx:responseError", autosaveFailed);
  document.body.addEventListener("htmx:sendError", autosaveFailed);

  // Clicking or tabbing into a criterion makes it the current one.
  form.addEventListener("focusin", function (event) {
    var el = event.target.closest && event.target.closest('fieldset.criterion[data-applies="1"]');
    if (el && el !== current) setCurrent(el, { focus: false, scroll: false });
  });
  form.addEventListener("change", function (event) {
    var el = event.target.closest && event.target.closest("fieldset.criterion");
    if (el && event.target.type === "radio") {
      el.classList.add("answered");
      el.classList.remove("missing");
    }
  });

  // The "Use suggestion" buttons only work with this file: show them, also when an autosave sends a hint back.
  function showSuggestionButtons(root) {
    root.querySelectorAll("button.use-suggestion[hidden]").forEach(function (button) { button.hidden = false; });
  }
  showSuggestionButtons(form);
  document.body.addEventListener("htmx:load", function (event) {
    if (event.target && event.target.querySelectorAll) showSuggestionButtons(event.target);
  });
  form.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.use-suggestion");
    if (button) useSuggestion(button.closest("fieldset.criterion"));
  });

  // Transcript line numbers quote the line (and its time) into the current criterion.
  document.querySelectorAll(".ws-transcript button.ln").forEach(function (button) {
    button.addEventListener("click", function () {
      var el = ensureCurrent();
      if (!el) return;
      var line = button.closest("li");
      var speaker = line.querySelector(".speaker").textContent.trim();
      var text = line.querySelector(".text").textContent.trim();
      var stamp = button.dataset.stamp ? "[" + button.dataset.stamp + "] " : "";
      var quoted = stamp + speaker + ": " + text;
      var details = el.querySelector("details.extras");
      if (details) details.open = true;
      var quote = el.querySelector('textarea[name$="-quote"]');
      var offset = el.querySelector('input[name$="-offset_seconds"]');
      if (!quote) return;
      quote.value = quote.value ? quote.value + "\n" + quoted : quoted;
      if (offset && !offset.value && button.dataset.offset) offset.value = button.dataset.offset;
      line.classList.add("quoted");
      quote.dispatchEvent(new Event("change", { bubbles: true }));
      setCurrent(el, { focus: true, scroll: true });
    });
  });

  // Start on the first unanswered criterion (highlighted, not scrolled to), so "y" works at once.
  var first = criteria().filter(function (el) { return !isAnswered(el); })[0];
  if (first) setCurrent(first, { focus: false, scroll: false });
  var firstMissing = form.querySelector("fieldset.criterion.missing, fieldset.criterion.has-error");
  if (firstMissing) setCurrent(firstMissing);
})();
