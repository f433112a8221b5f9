// Small conveniences on top of pages that work without script: a filter applies as
// soon as one of its drop-downs changes.
document.addEventListener("change", (event) => {
  const field = event.target;
  if (!(field instanceof HTMLSelectElement)) return;
  const form = field.form;
  if (form && (form.hasAttribute("data-autosubmit") || field.hasAttribute("data-autosubmit-field"))) {
    form.requestSubmit();
  }
});
