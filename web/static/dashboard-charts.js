// The operations dashboard: daily volume and answers.
(function () {
  var f = window.kefuFigures, labels = f.days.map(function (d) { return d.slice(5); });
  if (!window.Chart) return;  // the figures above still read without charts
  function chart(id, title, sets, stacked) {
    return new Chart(document.getElementById(id), {type: "bar", data: {labels: labels, datasets: sets},
      options: {maintainAspectRatio: false, animation: false, plugins: {title: {display: true, text: title}},
        scales: {x: {stacked: stacked}, y: {stacked: stacked, beginAtZero: true, ticks: {precision: 0}}}}});
  }
  window.kefuCharts = [
    chart("chart-volume", "每日会话与转人工", [
      {label: "会话", data: f.series.conversations, backgroundColor: "#69b1ff"},
      {label: "转人工", data: f.series.handoffs, backgroundColor: "#ff7875"}], false),
    chart("chart-answers", "每日作答与未答", [
      {label: "有依据的作答", data: f.series.answers, backgroundColor: "#95de64"},
      {label: "未答（记录缺口）", data: f.series.abstentions, backgroundColor: "#ffc069"}], true)];
})();
