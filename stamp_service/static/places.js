// Progressive enhancement for the province-then-commune picker: without JavaScript the form still works
// (the server re-shows it with the chosen province's communes).
(function () {
  document.querySelectorAll("fieldset.places").forEach(function (box) {
    var province = box.querySelector("select[name=province_code]");
    var commune = box.querySelector("select:not([name=province_code])");
    var url = box.getAttribute("data-communes-url");
    if (!province || !commune || !url || !window.fetch) return;
    province.addEventListener("change", function () {
      commune.innerHTML = "";
      commune.appendChild(new Option("—", ""));
      if (!province.value) return;
      fetch(url.replace("PROVINCE", encodeURIComponent(province.value)))
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) {
          // the page's language, as the server writes the list: Vietnamese names, or their English (ASCII) form
          var english = document.documentElement.lang === "en";
          data.items.forEach(function (c) { commune.appendChild(new Option((english ? c.name_en : c.full_name) + " (" + c.code + ")", c.code)); });
        });
    });
  });
})();
