// A table wider than its box scrolls inside it (.table-wrap; in a rendered document the table or example block
// itself). Keyboard users can only scroll a box they can focus, so a box that overflows becomes a focusable
// region named after its table (WCAG 2.1.1; axe's scrollable-region-focusable), and one that fits stays out
// of the tab order. Rechecked when the box or its content changes size (a narrower window, a phone turned, an
// htmx swap of the results).
(() => {
  const SCROLLERS = ".table-wrap, .doc table, .doc pre";
  const headingBefore = (element) => {
    for (let node = element; node && node !== document.body; node = node.parentElement) {
      for (let sibling = node.previousElementSibling; sibling; sibling = sibling.previousElementSibling) {
        if (/^H[1-4]$/.test(sibling.tagName)) return sibling.textContent.trim();
        const inner = sibling.querySelectorAll("h1, h2, h3, h4");
        if (inner.length) return inner[inner.length - 1].textContent.trim();
      }
    }
    return "";
  };
  const nameOf = (box) => {
    const caption = box.querySelector("caption");
    const base = (caption && caption.textContent.trim()) || headingBefore(box) || "Table";
    const taken = new Set([...document.querySelectorAll("[data-scroll-region]")].map((el) => el.getAttribute("aria-label")));
    let name = `${base} (scrolls sideways)`;
    for (let n = 2; taken.has(name); n++) name = `${base} (${n}, scrolls sideways)`;
    return name;
  };
  const update = (box) => {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", nameOf(box));
      box.dataset.scrollRegion = "";
    } else if (!scrolls && "scrollRegion" in box.dataset) {
      for (const name of ["tabindex", "role", "aria-label", "data-scroll-region"]) box.removeAttribute(name);
    }
  };
  const observer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const box = entry.target.closest(SCROLLERS);
      if (box) update(box);
    }
  });
  const watch = (root) => {
    for (const box of root.querySelectorAll(SCROLLERS)) {
      observer.observe(box);
      if (box.firstElementChild) observer.observe(box.firstElementChild);
      update(box);
    }
  };
  watch(document);
  document.addEventListener("htmx:afterSettle", (event) => watch(event.detail.elt));
})();
