// Calls list: leave empty filter fields out of htmx requests, so the pushed URL stays short and
// shareable (?channel=chat rather than ?q=&date_from=&date_to=&agent=&…&channel=chat).
document.addEventListener("htmx:configRequest", (event) => {
  if (!event.detail.elt.matches("form.filters")) return;
  const params = event.detail.parameters;
  for (const key of Object.keys(params)) {
    if (params[key] === "") delete params[key];
  }
});
