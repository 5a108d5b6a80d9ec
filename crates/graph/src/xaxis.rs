//! The x axis' grid and label spacing: graphite-web's table of configurations (borrowed
//! by glyph.py from rrdtool) and its rule for choosing one: the last whose seconds per
//! pixel is at most the graph's, among those whose longest range covers the graph's.

/// Seconds in each unit the table counts in (glyph.py's `MIN`, `HOUR`, `DAY`).
const MIN: f64 = 60.0;
const HOUR: f64 = 3600.0;
const DAY: f64 = 86_400.0;

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct XAxisConfig {
    /// The least seconds per pixel this row is for.
    pub seconds_per_pixel: f64,
    /// Seconds between minor grid lines.
    pub minor_step: f64,
    /// Seconds between major grid lines.
    pub major_step: f64,
    /// Seconds between labels.
    pub label_step: f64,
    /// The label's `strftime` format; `%m/%d` stands for graphite-web's `DATE_FORMAT`.
    pub format: &'static str,
    /// The longest time range this row is for (None: any).
    pub max_interval: Option<f64>,
}

macro_rules! row {
    ($spp:expr, $minor:expr, $major:expr, $label:expr, $format:expr, $max:expr) => {
        XAxisConfig {
            seconds_per_pixel: $spp,
            minor_step: $minor,
            major_step: $major,
            label_step: $label,
            format: $format,
            max_interval: $max,
        }
    };
}

/// glyph.py's `xAxisConfigs`, with each unit × step multiplied out (graphite-web's
/// `DATE_FORMAT` is `%m/%d`).
pub const X_AXIS_CONFIGS: [XAxisConfig; 23] = [
    row!(0.00, 5.0, MIN, 5.0, "%H:%M:%S", Some(10.0 * MIN)),
    row!(0.07, 10.0, MIN, 10.0, "%H:%M:%S", Some(20.0 * MIN)),
    row!(0.14, 15.0, MIN, 15.0, "%H:%M:%S", Some(30.0 * MIN)),
    row!(0.27, 30.0, 2.0 * MIN, MIN, "%H:%M", Some(2.0 * HOUR)),
    row!(0.5, MIN, 2.0 * MIN, MIN, "%H:%M", Some(2.0 * HOUR)),
    row!(1.2, MIN, 4.0 * MIN, 2.0 * MIN, "%H:%M", Some(3.0 * HOUR)),
    row!(2.0, MIN, 10.0 * MIN, 5.0 * MIN, "%H:%M", Some(6.0 * HOUR)),
    row!(
        5.0,
        2.0 * MIN,
        10.0 * MIN,
        10.0 * MIN,
        "%H:%M",
        Some(12.0 * HOUR)
    ),
    row!(10.0, 5.0 * MIN, 20.0 * MIN, 20.0 * MIN, "%H:%M", Some(DAY)),
    row!(30.0, 10.0 * MIN, HOUR, HOUR, "%H:%M", Some(2.0 * DAY)),
    row!(
        60.0,
        30.0 * MIN,
        2.0 * HOUR,
        2.0 * HOUR,
        "%H:%M",
        Some(2.0 * DAY)
    ),
    row!(
        100.0,
        2.0 * HOUR,
        4.0 * HOUR,
        4.0 * HOUR,
        "%a %H:%M",
        Some(6.0 * DAY)
    ),
    row!(
        255.0,
        6.0 * HOUR,
        12.0 * HOUR,
        12.0 * HOUR,
        "%m/%d %H:%M",
        Some(10.0 * DAY)
    ),
    row!(600.0, 6.0 * HOUR, DAY, DAY, "%m/%d", Some(14.0 * DAY)),
    row!(1000.0, 12.0 * HOUR, DAY, DAY, "%m/%d", Some(365.0 * DAY)),
    row!(
        2000.0,
        DAY,
        2.0 * DAY,
        2.0 * DAY,
        "%m/%d",
        Some(365.0 * DAY)
    ),
    row!(
        4000.0,
        2.0 * DAY,
        4.0 * DAY,
        4.0 * DAY,
        "%m/%d",
        Some(365.0 * DAY)
    ),
    row!(
        8000.0,
        3.5 * DAY,
        7.0 * DAY,
        7.0 * DAY,
        "%m/%d",
        Some(365.0 * DAY)
    ),
    row!(
        16000.0,
        7.0 * DAY,
        14.0 * DAY,
        14.0 * DAY,
        "%m/%d",
        Some(365.0 * DAY)
    ),
    row!(
        32000.0,
        15.0 * DAY,
        30.0 * DAY,
        30.0 * DAY,
        "%m/%d",
        Some(365.0 * DAY)
    ),
    row!(
        64000.0,
        30.0 * DAY,
        60.0 * DAY,
        60.0 * DAY,
        "%m/%d %Y",
        None
    ),
    row!(
        100000.0,
        60.0 * DAY,
        120.0 * DAY,
        120.0 * DAY,
        "%m/%d %Y",
        None
    ),
    row!(
        120000.0,
        120.0 * DAY,
        240.0 * DAY,
        240.0 * DAY,
        "%m/%d %Y",
        None
    ),
];

/// glyph.py's `setupXAxis` choice for a graph `width` pixels wide over `time_range`
/// seconds: the row's index in [`X_AXIS_CONFIGS`].
pub fn choose(time_range: f64, width: f64) -> usize {
    let seconds_per_pixel = time_range / width;
    X_AXIS_CONFIGS
        .iter()
        .rposition(|c| {
            c.seconds_per_pixel <= seconds_per_pixel
                && c.max_interval.unwrap_or(time_range + 1.0) >= time_range
        })
        .unwrap_or(X_AXIS_CONFIGS.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use charcoal_pyfmt::oracle::run_python;

    /// glyph.py's own table and choice, on ranges from a minute to ten years and widths
    /// from 50 to 4,000 pixels.
    #[test]
    fn the_choice_and_the_steps_are_graphite_webs() {
        let script = r#"
import sys, json, os, warnings
warnings.simplefilter("ignore")
os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
from graphite.render import glyph
cases = json.load(sys.stdin)
out = []
for time_range, width in cases:
    class G: pass
    g = G(); g.userTimeZone = "UTC"; g.startTime = 1700000000; g.endTime = 1700000000 + time_range
    g.timeRange = time_range; g.graphWidth = width
    glyph.LineGraph.setupXAxis(g)
    out.append([glyph.xAxisConfigs.index(g.xConf), g.xMinorGridStep, g.xMajorGridStep,
                g.xLabelStep, g.xConf["format"]])
print(json.dumps(out))
"#;
        let mut cases = Vec::new();
        for range in [
            60,
            600,
            601,
            1200,
            1800,
            3600,
            7200,
            7201,
            10_800,
            21_600,
            43_200,
            86_400,
            172_800,
            172_801,
            518_400,
            604_800,
            864_000,
            1_209_600,
            2_592_000,
            7_776_000,
            31_536_000,
            31_536_001,
            94_608_000,
            315_360_000,
        ] {
            for width in [50, 330, 640, 800, 1920, 4000] {
                cases.push((range, width));
            }
        }
        let answer = run_python(script, serde_json::to_string(&cases).unwrap());
        let want: Vec<(usize, f64, f64, f64, String)> =
            serde_json::from_str(answer.trim()).unwrap();
        for ((range, width), want) in cases.iter().zip(want) {
            let i = choose(f64::from(*range), f64::from(*width));
            let c = X_AXIS_CONFIGS[i];
            let got = (
                i,
                c.minor_step,
                c.major_step,
                c.label_step,
                c.format.to_owned(),
            );
            assert_eq!(got, want, "{range} s over {width} px");
        }
    }
}
