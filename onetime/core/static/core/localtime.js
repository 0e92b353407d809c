// Moments in the reader's own time zone: progressive enhancement of <time class="local-time">,
// which the server writes in UTC (and which stays UTC without JavaScript).
(() => {
  const lang = document.documentElement.lang || undefined;
  const format = new Intl.DateTimeFormat(lang, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZoneName: "short",
  });
  document.querySelectorAll("time.local-time[datetime]").forEach((element) => {
    const when = new Date(element.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) return;
    element.title = element.textContent;
    element.textContent = format.format(when);
    element.dataset.localized = "";
  });
})();
