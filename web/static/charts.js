// Staff pages with charts: the page's figures (server JSON) and Chart.js's font.
window.kefuFigures = JSON.parse(document.getElementById("figures").textContent);
if (window.Chart) Chart.defaults.font.family = '"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif';
