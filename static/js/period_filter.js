// Filter forms with a period select and From/To dates apply the dates only to a custom range. Typing a date
// while the select said "Last 30 days" changed nothing on the page; picking a date now switches the select
// to "Custom range" first. The listener runs in the capture phase, so the select has changed before the
// form's own change handler (htmx's hx-trigger="change") sends the request.
document.addEventListener(
  "change",
  (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !["date_from", "date_to"].includes(input.name) || !input.value) return;
    const period = input.form && input.form.elements.namedItem("period");
    if (period instanceof HTMLSelectElement && [...period.options].some((option) => option.value === "custom")) {
      period.value = "custom";
    }
  },
  true,
);
