// Calls list: leave empty filter fields out of htmx requests, so the pushed URL stays short and
// shareable (?channel=chat rather than ?q=&date_from=&date_to=&agent=&…&channel=chat).
// An empty date is kept: without any date parameter the server applies the default period, while an
// explicitly empty date means "no bound" (clearing both date fields must show every date, as the
// "Show all dates" link does, not silently fall back to the last 30 days).
const KEEP_WHEN_EMPTY = new Set(["date_from", "date_to"]);
document.addEventListener("htmx:configRequest", (event) => {
  if (!event.detail.elt.matches("form.filters")) return;
  const params = event.detail.parameters;
  for (const key of Object.keys(params)) {
    if (params[key] === "" && !KEEP_WHEN_EMPTY.has(key)) delete params[key];
  }
});

// After a filter change the response carries the filter form out of band (data-aria-sync), bound to what was
// submitted: each control's aria-invalid and aria-describedby (naming its entry in the error summary now in
// #results) are taken over onto the live control with the same id, and the form itself stays. Swapping it
// would reset a search being typed, or a date being typed digit by digit (Chrome fires "change" on each digit
// of the year), to the value the request was made with.
const SYNCED = ["aria-invalid", "aria-describedby"];
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  let fresh = event.detail.fragment; // an outerHTML swap hands over a fragment holding the new element
  if (fresh && fresh.nodeType === Node.DOCUMENT_FRAGMENT_NODE) fresh = fresh.firstElementChild;
  if (!fresh || !fresh.hasAttribute("data-aria-sync")) return;
  for (const source of [fresh, ...fresh.querySelectorAll("[id]")]) {
    const live = document.getElementById(source.id);
    if (!live) continue;
    for (const name of SYNCED) {
      if (source.hasAttribute(name)) live.setAttribute(name, source.getAttribute(name));
      else live.removeAttribute(name);
    }
  }
  event.detail.shouldSwap = false;
});
