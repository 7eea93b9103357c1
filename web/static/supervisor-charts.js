// The supervisor view: demand by hour, containment, utilisation.
(function () {
  var f = window.kefuFigures;
  if (!window.Chart) return;  // the figures above still read without charts
  function sumByHour(grid) { var out = []; for (var h = 0; h < 24; h++) { var s = 0; grid.forEach(function (row) { s += row[h]; }); out.push(+(s / 7).toFixed(2)); } return out; }
  var hours = []; for (var h = 0; h < 24; h++) hours.push(h + "时");
  var c = f.containment, daily = c.series.conversations.map(function (n, i) { return n ? +((n - c.series.handoffs[i]) / n * 100).toFixed(1) : null; });
  var util = f.utilisation.filter(function (u) { return u.utilisation !== null; });
  window.kefuCharts = [
    new Chart(document.getElementById("chart-hours"), {type: "bar", data: {labels: hours, datasets: [
      {label: "会话/小时", data: sumByHour(f.demand.chats), backgroundColor: "#69b1ff"},
      {label: "转人工/小时", data: sumByHour(f.demand.handoffs), backgroundColor: "#ff7875"}]},
      options: {maintainAspectRatio: false, animation: false, plugins: {title: {display: true, text: "按小时的平均需求"}}}}),
    new Chart(document.getElementById("chart-containment"), {type: "line", data: {labels: c.days.map(function (d) { return d.slice(5); }),
      datasets: [{label: "自助解决率 %", data: daily, borderColor: "#389e0d", spanGaps: true}]},
      options: {maintainAspectRatio: false, animation: false, plugins: {title: {display: true, text: "每日自助解决率（未转人工）"}},
        scales: {y: {min: 0, max: 100}}}}),
    new Chart(document.getElementById("chart-utilisation"), {type: "bar", data: {labels: util.map(function (u) { return u.agent; }),
      datasets: [{label: "利用率 %", data: util.map(function (u) { return +(u.utilisation * 100).toFixed(1); }), backgroundColor: "#95de64"},
                 {label: "目标 70%", type: "line", data: util.map(function () { return f.target * 100; }), borderColor: "#cf1322", pointRadius: 0}]},
      options: {maintainAspectRatio: false, animation: false, plugins: {title: {display: true, text: "近 7 天坐席利用率（处理时间 / 在线时间）"}},
        scales: {y: {min: 0, max: 100}}}})];
})();
