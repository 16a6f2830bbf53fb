// Small behaviours htmx doesn't cover. No inline scripts anywhere (the CSP forbids them).
document.addEventListener("htmx:sendError", function () {
  alert("网络连接中断，内容没有提交。请在信号恢复后再点一次提交，已填写的内容仍在页面上。");
});
