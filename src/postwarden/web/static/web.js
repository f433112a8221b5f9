// Small conveniences on top of pages that work without script.

// A filter applies as soon as one of its drop-downs changes.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (!(field instanceof HTMLSelectElement)) return;
  const form = field.form;
  if (form && (form.hasAttribute("data-autosubmit") || field.hasAttribute("data-autosubmit-field"))) {
    form.requestSubmit();
  }
});

// Escape closes an open tooltip (they open on hover and on keyboard focus); the next
// badge pointed at or focused opens again.
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") document.body.classList.add("tips-hidden");
});
for (const kind of ["focusin", "mouseover"]) {
  document.addEventListener(kind, (event) => {
    if (event.target instanceof Element && event.target.closest(".has-tip")) {
      document.body.classList.remove("tips-hidden");
    }
  });
}
