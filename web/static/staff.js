// Every staff page and the error page: forms that ask before they submit (data-confirm), selects that submit
// on change (data-autosubmit) and a way back (data-back), in place of inline handlers and javascript: links,
// which the Content-Security-Policy forbids.
document.addEventListener("submit", function (e) {
  var ask = e.target.getAttribute && e.target.getAttribute("data-confirm");
  if (ask && !window.confirm(ask)) e.preventDefault();
}, true);
document.addEventListener("change", function (e) {
  if (e.target.hasAttribute && e.target.hasAttribute("data-autosubmit") && e.target.form) e.target.form.submit();
});
document.addEventListener("click", function (e) {
  if (e.target.hasAttribute && e.target.hasAttribute("data-back")) { e.preventDefault(); window.history.back(); }
});
