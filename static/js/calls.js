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
