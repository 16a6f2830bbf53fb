// Small behaviours htmx doesn't cover. No inline scripts anywhere (the CSP forbids them).

// A dropped connection: say so; the form and what was typed stay on the page.
document.addEventListener("htmx:sendError", function () {
  alert("网络连接中断，内容没有提交。请在信号恢复后再点一次提交，已填写的内容仍在页面上。");
});

// Live countdowns: <span class="countdown" data-due="ISO"> shows 正常 / 即将超时 / 已超时.
(function () {
  function text(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    if (minutes < 60) return minutes + " 分钟";
    var hours = Math.floor(minutes / 60), rest = minutes % 60;
    if (hours < 48) return rest ? hours + " 小时 " + rest + " 分" : hours + " 小时";
    return Math.floor(hours / 24) + " 天 " + (hours % 24) + " 小时";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-due]").forEach(function (el) {
      var left = Date.parse(el.dataset.due) - now;
      var state = left < 0 ? ["badge-late", "已超时", "超时 "] : left <= 15 * 60000 ? ["badge-warn", "即将超时", "剩 "] : ["badge-ok", "正常", "剩 "];
      el.classList.remove("badge-late", "badge-warn", "badge-ok");
      el.classList.add(state[0]);
      var word = el.querySelector("b"), rest = el.querySelector(".left");
      if (word) word.textContent = state[1];
      if (rest) rest.textContent = state[2] + text(left);
    });
  }
  setInterval(tick, 30000);
  document.addEventListener("htmx:afterSettle", tick);
})();

// Picking a resident fills the customer's name and phone (the server does the same without JS).
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-fills]")) return;
  var option = select.options[select.selectedIndex];
  var prefix = select.dataset.fills;
  var name = document.getElementById(prefix + "_name"), phone = document.getElementById(prefix + "_phone");
  if (option && option.dataset.name !== undefined) {
    if (name) name.value = option.dataset.name;
    if (phone) phone.value = option.dataset.phone || "";
  }
});
