//! Colours as graphite-web reads them (`glyph.py`'s `setColor` and `colorAliases`): one of
//! its 22 names (graphite's own palette, not CSS: its `blue` is `(100,100,255)`), or a hex
//! string `rrggbb` / `rrggbbaa`, with or without `#` (or its URL-encoded `%23`).
//!
//! The hex pairs are read as Python's `int(pair, 16)` reads them, so the odd strings
//! graphite-web accepts are accepted alike (`" a+b-c"` is a colour there: `+b` is 11, `-c`
//! is -12, which cairo clamps to 0), and the ones it refuses are refused, here with a
//! message instead of its 500 (even the digits of other scripts: `#１２3456` is a colour).

use charcoal_protocol::pynum::parse_i64;

/// graphite-web's colour names, with their 0–255 components.
pub const ALIASES: [(&str, [u8; 3]); 22] = [
    ("black", [0, 0, 0]),
    ("white", [255, 255, 255]),
    ("blue", [100, 100, 255]),
    ("green", [0, 200, 0]),
    ("red", [200, 0, 50]),
    ("yellow", [255, 255, 0]),
    ("orange", [255, 165, 0]),
    ("purple", [200, 100, 255]),
    ("brown", [150, 100, 50]),
    ("cyan", [0, 255, 255]),
    ("aqua", [0, 150, 150]),
    ("gray", [175, 175, 175]),
    ("grey", [175, 175, 175]),
    ("magenta", [255, 0, 255]),
    ("pink", [255, 100, 100]),
    ("gold", [200, 200, 0]),
    ("rose", [200, 150, 200]),
    ("darkblue", [0, 0, 255]),
    ("darkgreen", [0, 255, 0]),
    ("darkred", [255, 0, 0]),
    ("darkgray", [111, 111, 111]),
    ("darkgrey", [111, 111, 111]),
];

/// A colour as graphite-web hands it to cairo: components over 255 (a pair read with a
/// sign can fall outside 0–1; cairo clamps when it draws) and an alpha.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgba {
    /// Red.
    pub r: f64,
    /// Green.
    pub g: f64,
    /// Blue.
    pub b: f64,
    /// Opacity, 0 to 1.
    pub a: f64,
}

/// A colour graphite-web could not read either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid color {0:?}: give one of graphite's color names (black, white, blue, green, red, ...) or a hex string rrggbb or rrggbbaa"
)]
pub struct ColorError(pub String);

/// Reads `value` as `setColor(value, alpha, force_alpha)` does: `alpha` is used unless the
/// string carries its own (`rrggbbaa`) and `force_alpha` is false.
pub fn parse(value: &str, alpha: f64, force_alpha: bool) -> Result<Rgba, ColorError> {
    let bad = || ColorError(value.to_owned());
    let scale = |c: i64| c as f64 / 255.0;
    if let Some((_, [r, g, b])) = ALIASES.iter().find(|(name, _)| *name == value) {
        let [r, g, b] = [r, g, b].map(|c| scale(i64::from(*c)));
        return Ok(Rgba { r, g, b, a: alpha });
    }
    // Python measures and slices strings by code point.
    let chars: Vec<char> = value.chars().collect();
    if chars.len() < 6 {
        return Err(bad());
    }
    let mut s: &[char] = &chars;
    if s.first() == Some(&'#') {
        s = &s[1..];
    }
    if s.starts_with(&['%', '2', '3']) {
        s = &s[3..];
    }
    let pair = |i: usize| -> Option<i64> {
        let part: String = s.iter().skip(i).take(2).collect();
        parse_i64(&part, 16)
    };
    let (r, g, b) = match (pair(0), pair(2), pair(4)) {
        (Some(r), Some(g), Some(b)) => (r, g, b),
        _ => return Err(bad()),
    };
    let a = if s.len() == 8 && !force_alpha {
        scale(pair(6).ok_or_else(bad)?)
    } else {
        alpha
    };
    Ok(Rgba {
        r: scale(r),
        g: scale(g),
        b: scale(b),
        a,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use charcoal_pyfmt::oracle::run_python;

    /// Every case through graphite-web's own `setColor` (Debian's glyph.py), reading what
    /// it hands to cairo, against ours.
    #[test]
    fn colors_are_read_as_graphite_web_reads_them() {
        let cases = [
            "red",
            "rose",
            "darkgrey",
            "Red",
            "#1a7dd7",
            "1a7dd7",
            "1A7DD7",
            "1a7dd780",
            "#1a7dd780",
            "%231a7dd7",
            "%231a7dd7ff",
            " a+b-c",
            "+1+2+3",
            "1a7dd7x",
            "1a7dd7809",
            "zzzzzz",
            "#abcde",
            "#abcd",
            "abcd",
            "",
            "       ",
            "1_2_3_",
            "ffffff00",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
            "#\u{ff11}\u{ff12}3456",
        ];
        let script = r#"
import sys, json, struct, warnings
warnings.simplefilter("ignore")
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
from graphite.render import glyph
class Ctx:
    # Exact bits: a decimal round trip through JSON is not guaranteed to be.
    def set_source_rgba(self, *a): self.got = [struct.unpack("<Q", struct.pack("<d", x))[0] for x in a]
class G: pass
out = []
for value, alpha, force in json.load(sys.stdin):
    g = G(); g.ctx = Ctx()
    try:
        glyph.Graph.setColor(g, value, alpha, force)
        out.append(g.ctx.got)
    except Exception:
        out.append(None)
print(json.dumps(out))
"#;
        let mut input = Vec::new();
        for c in cases
            .into_iter()
            .chain(ALIASES.iter().map(|(name, _)| *name))
        {
            for (alpha, force) in [(1.0, false), (0.4, false), (0.4, true)] {
                input.push((c, alpha, force));
            }
        }
        let json_input = serde_json::to_string(&input).unwrap();
        let answer = run_python(script, json_input);
        let want: Vec<Option<[u64; 4]>> = serde_json::from_str(answer.trim()).unwrap();
        let want = want.into_iter().map(|w| w.map(|c| c.map(f64::from_bits)));
        assert_eq!(want.len(), input.len());
        for ((value, alpha, force), want) in input.iter().zip(want) {
            let got = parse(value, *alpha, *force)
                .ok()
                .map(|c| [c.r, c.g, c.b, c.a]);
            assert_eq!(got, want, "{value:?} alpha {alpha} force {force}");
        }
    }
}
