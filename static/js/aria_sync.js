// Out-of-band fragments marked data-aria-sync carry controls re-rendered by the server with their error state:
// aria-invalid, and aria-describedby naming the element that holds the message. Only those two attributes are
// taken over, onto the live elements with the same ids; the live controls stay. Replacing them would undo what
// the user did while the request was out (a search being typed, a date typed digit by digit — Chromium fires
// "change" on each digit of the year — or a tick given while an autosave was out) and drop the keyboard focus.
// Used by the calls list's filter form and the scoring workspace's answer buttons.
(() => {
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
})();
