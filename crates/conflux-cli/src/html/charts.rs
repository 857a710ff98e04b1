//! The report's static SVG charts: global importance (positive and negative parts side by
//! side) and the beeswarm. Colours are blue (down, low values) and orange (up, high
//! values), which colour-blind readers tell apart; every chart has axis labels and a
//! caption saying how to read it.

use super::{num, short, text};

/// Orange: pushes the output up; high feature values.
pub const UP: &str = "#e66100";
/// Blue: pushes the output down; low feature values.
pub const DOWN: &str = "#1f6fb4";

const ROW_H: f64 = 18.0;
const LABEL_W: f64 = 170.0;
const PLOT_W: f64 = 460.0;

/// One feature's global numbers.
pub struct Importance<'a> {
    /// Feature name (untrusted).
    pub name: &'a str,
    /// Mean positive part (CAFE's S+), or `None` for methods without a split.
    pub pos: Option<f64>,
    /// Mean negative part (S−).
    pub neg: Option<f64>,
    /// Mean |joint score|.
    pub abs: f64,
}

/// Horizontal bars per feature in the given order: for split methods the mean S− to the
/// left of the axis and the mean S+ to the right, for the others `abs`, named `measure`
/// (e.g. "mean |score|") on the axis.
pub fn importance(items: &[Importance<'_>], method: &str, measure: &str) -> String {
    let split = items.iter().any(|i| i.pos.is_some());
    let max = items
        .iter()
        .map(|i| {
            if split {
                i.pos.unwrap_or(0.0).max(i.neg.unwrap_or(0.0))
            } else {
                i.abs
            }
        })
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let h = ROW_H * items.len() as f64 + 50.0;
    let w = LABEL_W + PLOT_W + 20.0;
    let axis = if split {
        LABEL_W + PLOT_W / 2.0
    } else {
        LABEL_W
    };
    let half = if split { PLOT_W / 2.0 } else { PLOT_W };
    let mut s = format!(
        "<svg class=\"chart importance\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"global importance, {}\">",
        text(method)
    );
    for (k, i) in items.iter().enumerate() {
        let y = 10.0 + ROW_H * k as f64;
        s.push_str(&format!(
            "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL_W - 6.0,
            y + 12.0,
            text(&short(i.name))
        ));
        let bars: Vec<(f64, f64, &str, String)> = if split {
            let (p, n) = (i.pos.unwrap_or(0.0), i.neg.unwrap_or(0.0));
            vec![
                (
                    axis - half * n / max,
                    half * n / max,
                    DOWN,
                    format!("mean S− {}", num(n)),
                ),
                (axis, half * p / max, UP, format!("mean S+ {}", num(p))),
            ]
        } else {
            vec![(
                axis,
                half * i.abs / max,
                UP,
                format!("{measure} {}", num(i.abs)),
            )]
        };
        for (x, bw, colour, tip) in bars {
            s.push_str(&format!(
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{:.1}\" fill=\"{colour}\"><title>{}: {}</title></rect>",
                y + 2.0,
                ROW_H - 4.0,
                text(&short(i.name)),
                tip
            ));
        }
    }
    let bottom = 10.0 + ROW_H * items.len() as f64;
    s.push_str(&format!(
        "<line class=\"axis\" x1=\"{axis}\" y1=\"6\" x2=\"{axis}\" y2=\"{bottom}\"/>"
    ));
    let label = if split {
        "← mean S− (pushes down)      mean S+ (pushes up) →".to_string()
    } else {
        format!("{measure} →")
    };
    s.push_str(&format!(
        "<text class=\"axis-label\" x=\"{axis}\" y=\"{}\" text-anchor=\"{}\">{label}</text></svg>",
        bottom + 30.0,
        if split { "middle" } else { "start" }
    ));
    s
}

/// One dot of the beeswarm.
pub struct Dot {
    /// Row of the feature in the chart (0 = top).
    pub lane: usize,
    /// The score.
    pub score: f64,
    /// The feature's value scaled to [0, 1] over the sampled rows (`None`: constant).
    pub value: Option<f64>,
    /// Data row, for the tooltip.
    pub row: usize,
}

/// One dot per (row, feature) score, a lane per feature (`names`, top to bottom), x the
/// score, colour the feature's value from low (blue) to high (orange). `axis` names x; the
/// zero line is centred, or on the left when no score is negative.
pub fn beeswarm(names: &[&str], dots: &[Dot], axis: &str) -> String {
    let max = dots
        .iter()
        .map(|d| d.score.abs())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let lane_h = 22.0;
    let h = lane_h * names.len() as f64 + 50.0;
    let w = LABEL_W + PLOT_W + 20.0;
    let one_sided = dots.iter().all(|d| d.score >= 0.0);
    let (zero, half) = if one_sided {
        (LABEL_W, PLOT_W - 8.0)
    } else {
        (LABEL_W + PLOT_W / 2.0, PLOT_W / 2.0 - 4.0)
    };
    let mut s = format!(
        "<svg class=\"chart beeswarm\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"beeswarm\">"
    );
    for (k, n) in names.iter().enumerate() {
        s.push_str(&format!(
            "<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LABEL_W - 6.0,
            10.0 + lane_h * k as f64 + 14.0,
            text(&short(n))
        ));
    }
    for (i, d) in dots.iter().enumerate() {
        // A fixed jitter within the lane, so the file is the same for the same data.
        let jitter =
            ((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as f64 / (1u64 << 24) as f64;
        let x = zero + half * d.score / max;
        let y = 10.0 + lane_h * d.lane as f64 + 4.0 + jitter * (lane_h - 8.0);
        let fill = d.value.map_or_else(|| "#999999".to_string(), blend);
        s.push_str(&format!(
            "<circle class=\"dot\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2.5\" fill=\"{fill}\"><title>row {} · score {}</title></circle>",
            d.row,
            num(d.score)
        ));
    }
    let bottom = 10.0 + lane_h * names.len() as f64;
    s.push_str(&format!(
        "<line class=\"axis\" x1=\"{zero}\" y1=\"6\" x2=\"{zero}\" y2=\"{bottom}\"/>\
         <text class=\"axis-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}; colour: value, blue low → orange high</text></svg>",
        LABEL_W + PLOT_W / 2.0,
        bottom + 30.0,
        text(axis)
    ));
    s
}

/// Blue (0) → grey (0.5) → orange (1).
fn blend(t: f64) -> String {
    let t = t.clamp(0.0, 1.0);
    let (a, b, u) = if t < 0.5 {
        ([0x1f, 0x6f, 0xb4], [0xbb, 0xbb, 0xbb], t * 2.0)
    } else {
        ([0xbb, 0xbb, 0xbb], [0xe6, 0x61, 0x00], t * 2.0 - 1.0)
    };
    let c: Vec<String> = (0..3)
        .map(|k| {
            format!(
                "{:02x}",
                (f64::from(a[k]) + (f64::from(b[k]) - f64::from(a[k])) * u).round() as u8
            )
        })
        .collect();
    format!("#{}", c.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shape_per_datum_and_names_escaped() {
        let items = [
            Importance {
                name: "<b>x</b>",
                pos: Some(2.0),
                neg: Some(1.0),
                abs: 1.0,
            },
            Importance {
                name: "y",
                pos: Some(0.5),
                neg: Some(0.0),
                abs: 0.5,
            },
        ];
        let svg = importance(&items, "cafe", "mean |score|");
        assert_eq!(svg.matches("<rect class=\"bar\"").count(), 4);
        assert!(svg.contains("&lt;b&gt;x&lt;/b&gt;") && !svg.contains("<b>"));
        let dots: Vec<Dot> = (0..7)
            .map(|i| Dot {
                lane: i % 2,
                score: i as f64 - 3.0,
                value: Some(i as f64 / 6.0),
                row: i,
            })
            .collect();
        let swarm = beeswarm(&["a", "b"], &dots, "score");
        assert_eq!(swarm.matches("<circle").count(), 7);
        assert_eq!(blend(0.0), "#1f6fb4");
        assert_eq!(blend(1.0), "#e66100");
    }
}
