//! The demo's HTML report: one self-contained file (inline CSS and SVG charts, no script, no
//! external asset) with the scorecard, open KEV exposures over time, the main measures side by
//! side, the learning curve and the definitions behind the numbers.
//!
//! Invariant: the page shows the numbers of [`Summary`], nothing recomputed, and every text
//! that comes from data is HTML-escaped.

use super::report::Summary;
use super::Comparison;
use std::fmt::Write;

const COLORS: [&str; 3] = ["#1f77b4", "#ff7f0e", "#7f7f7f"];
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const PAD: f64 = 40.0;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A line chart of `series` (name, values by x; `None` leaves a gap in the points), x counted
/// from 1, y from 0 to `top` (default: the largest value and a margin).
fn line_chart(
    title: &str,
    x_label: &str,
    top: Option<f64>,
    series: &[(String, Vec<Option<f64>>)],
) -> String {
    let n = series.iter().map(|s| s.1.len()).max().unwrap_or(0).max(2);
    let largest = series.iter().flat_map(|s| s.1.iter().flatten()).fold(0.0f64, |a, &b| a.max(b));
    let top = top.unwrap_or(if largest <= 0.0 { 1.0 } else { largest * 1.1 });
    let x = |i: usize| PAD + (WIDTH - 2.0 * PAD) * i as f64 / (n - 1) as f64;
    let y = |v: f64| HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * v / top;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" role=\"img\">\
         <title>{t}</title><text x=\"4\" y=\"16\" font-size=\"13\">{t}</text>\
         <line x1=\"{PAD}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#999\"/>\
         <line x1=\"{PAD}\" y1=\"{PAD}\" x2=\"{PAD}\" y2=\"{b}\" stroke=\"#999\"/>\
         <text x=\"4\" y=\"{ty}\" font-size=\"11\">{top:.2}</text>\
         <text x=\"4\" y=\"{b}\" font-size=\"11\">0</text>\
         <text x=\"{PAD}\" y=\"{tick}\" font-size=\"11\">1</text>\
         <text x=\"{r}\" y=\"{tick}\" font-size=\"11\" text-anchor=\"end\">{n}</text>\
         <text x=\"{mid}\" y=\"{lbl}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
        escape(x_label),
        t = escape(title),
        b = HEIGHT - PAD,
        r = WIDTH - PAD,
        ty = PAD + 4.0,
        tick = HEIGHT - PAD + 14.0,
        mid = WIDTH / 2.0,
        lbl = HEIGHT - 8.0,
    );
    for (k, (name, values)) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x(i), y(v))))
            .collect();
        let _ = write!(
            svg,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\" font-size=\"11\" fill=\"{color}\">{}</text>",
            points.join(" "),
            WIDTH - PAD - 150.0,
            PAD + 14.0 * k as f64,
            escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A horizontal bar chart of (label, value, shown value).
fn bar_chart(title: &str, bars: &[(String, f64, String)]) -> String {
    let top = bars.iter().fold(0.0f64, |a, b| a.max(b.1)).max(1e-9);
    let row = 26.0;
    let h = PAD + row * bars.len() as f64;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {WIDTH} {h}\" width=\"{WIDTH}\" height=\"{h}\" role=\"img\">\
         <title>{0}</title><text x=\"4\" y=\"16\" font-size=\"13\">{0}</text>",
        escape(title)
    );
    for (k, (label, value, shown)) in bars.iter().enumerate() {
        let y = 28.0 + row * k as f64;
        let w = (WIDTH - 260.0) * value / top;
        let _ = write!(
            svg,
            "<text x=\"4\" y=\"{:.0}\" font-size=\"12\">{}</text>\
             <rect x=\"180\" y=\"{y:.0}\" width=\"{w:.1}\" height=\"18\" fill=\"{}\"/>\
             <text x=\"{:.0}\" y=\"{:.0}\" font-size=\"12\">{}</text>",
            y + 13.0,
            escape(label),
            COLORS[k % COLORS.len()],
            184.0 + w,
            y + 13.0,
            escape(shown)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The whole page.
pub fn page(c: &Comparison, s: &Summary, text_report: &str) -> String {
    let names: Vec<String> = s.cards.iter().map(|x| x.name.clone()).collect();
    let open: Vec<(String, Vec<Option<f64>>)> = names
        .iter()
        .zip(&s.open_kev)
        .map(|(n, v)| (n.clone(), v.iter().map(|&x| Some(x as f64)).collect()))
        .collect();
    let bars = |f: &dyn Fn(&super::metrics::Scorecard) -> f64, unit: &str| -> Vec<_> {
        s.cards.iter().map(|x| (x.name.clone(), f(x), format!("{:.2}{unit}", f(x)))).collect()
    };
    let curves = |f: &dyn Fn(&super::metrics::Cycle) -> Option<f64>| -> Vec<_> {
        names
            .iter()
            .zip(&s.curves)
            .filter(|(n, _)| n.starts_with("patchline"))
            .map(|(n, cy)| (n.clone(), cy.iter().map(f).collect()))
            .collect()
    };
    let mut hidden: Vec<(String, Vec<Option<f64>>)> = curves(&|x| x.log_loss);
    if let Some(first) = s.curves.first() {
        hidden.push(("hidden model".into(), first.iter().map(|x| x.generating_log_loss).collect()));
    }
    let mut calibration: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    if let (Some(name), Some(curve)) = (names.first(), s.curves.first()) {
        calibration
            .push((format!("{name}: predicted"), curve.iter().map(|x| x.mean_predicted).collect()));
        calibration
            .push((format!("{name}: observed"), curve.iter().map(|x| x.observed_rate).collect()));
    }
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>patchline demo: scorecard</title><style>\
         body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}\
         pre{background:#f6f6f6;padding:1em;overflow-x:auto;font-size:12px}\
         figure{margin:1.5em 0}figcaption{font-size:13px;color:#555}</style></head><body>",
    );
    let _ = write!(
        html,
        "<h1>patchline demo: closed loop and scorecard</h1><p>{} assets, {} simulated days, \
         seed {}. Every policy faces the same world: fleet, findings, maintenance windows, \
         feeds, executor, hidden failure model and caps.</p><pre>{}</pre>",
        c.config.assets,
        c.config.days,
        c.config.seed,
        escape(text_report)
    );
    let figures = [
        (
            line_chart("Open KEV exposures at the end of each day", "simulated day", None, &open),
            "Exposures whose CVE is in KEV and that no deployment has fixed yet.",
        ),
        (
            bar_chart("Mean time to patch KEV exposures (days)", &bars(&|x| x.mttp_kev_days, " d")),
            "From the later of first sighting and KEV addition to the fix; open ones count to the end.",
        ),
        (
            bar_chart("KEV exposure-days", &bars(&|x| x.exposure_days, "")),
            "Days exposures were open while their CVE was known exploited, summed.",
        ),
        (
            bar_chart("Deployment success rate (%)", &bars(&|x| 100.0 * x.success_rate, "%")),
            "Succeeded deployments over deployments run or timed out.",
        ),
        (
            line_chart("Failure AUC per cycle", "simulated week", Some(1.0), &curves(&|x| x.failure_auc)),
            "AUC of the commands' predicted failure against the outcome, per simulated week.",
        ),
        (
            line_chart("Failure calibration per cycle", "simulated week", None, &calibration),
            "Mean predicted failure probability of the deployments run, and the observed rate.",
        ),
        (
            line_chart("Failure log-loss per cycle", "simulated week", None, &hidden),
            "Log-loss of the predicted failure; the hidden model's own log-loss is the floor.",
        ),
    ];
    for (svg, caption) in figures {
        let _ = write!(html, "<figure>{svg}<figcaption>{}</figcaption></figure>", escape(caption));
    }
    html.push_str("</body></html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_inline_svg_and_escape_their_text() {
        let svg = line_chart("a<b", "x", None, &[("s&t".into(), vec![Some(1.0), None, Some(3.0)])]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a&lt;b") && svg.contains("s&amp;t") && !svg.contains("a<b"));
        let bars = bar_chart("t", &[("x".into(), 2.0, "2".into()), ("y".into(), 0.0, "0".into())]);
        assert!(bars.contains("<rect") && !bars.contains("NaN"));
    }
}
