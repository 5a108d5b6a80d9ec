//! Text measurement as cairo measures it for graphite-web, with the fonts embedded in the
//! binary (see `fonts/README.md`).
//!
//! graphite-web lays a graph out with cairo's toy text API: `font_extents` (ascent,
//! descent, height) and `text_extents(text).x_advance`, the sum of each character's glyph
//! advance (no kerning, no shaping). On an image surface (PNG) cairo asks FreeType for
//! *hinted* metrics: every advance is the one DejaVu's TrueType instructions give at that
//! pixel size (18% of them differ from the rounded outline advance: DejaVu has no `hdmx`
//! table, so only running the instructions tells), the ascent is rounded up, the descent
//! down and the height to the nearest pixel. On SVG and PDF surfaces the metrics are the
//! outlines' own, unrounded. `skrifa` runs the TrueType instructions; the tests check every
//! figure against pycairo on Debian, the library graphite-web draws with.

use skrifa::instance::{LocationRef, Size};
use skrifa::outline::{DrawSettings, HintingInstance, HintingOptions, pen::NullPen};
use skrifa::{FontRef, MetadataProvider, OutlineGlyphCollection};

/// An embedded face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// DejaVu Sans.
    Sans,
    /// DejaVu Sans Bold.
    SansBold,
    /// DejaVu Sans Oblique.
    SansOblique,
    /// DejaVu Sans Bold Oblique.
    SansBoldOblique,
}

impl Face {
    /// The face for graphite-web's `fontBold` and `fontItalic`.
    pub fn sans(bold: bool, italic: bool) -> Face {
        match (bold, italic) {
            (false, false) => Face::Sans,
            (true, false) => Face::SansBold,
            (false, true) => Face::SansOblique,
            (true, true) => Face::SansBoldOblique,
        }
    }

    /// The font file.
    pub fn data(self) -> &'static [u8] {
        match self {
            Face::Sans => include_bytes!("../fonts/DejaVuSans.ttf"),
            Face::SansBold => include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
            Face::SansOblique => include_bytes!("../fonts/DejaVuSans-Oblique.ttf"),
            Face::SansBoldOblique => include_bytes!("../fonts/DejaVuSans-BoldOblique.ttf"),
        }
    }
}

/// Which of cairo's two ways of measuring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metrics {
    /// Image surfaces (PNG): whole pixels, as the font's instructions put them.
    Hinted,
    /// Vector surfaces (SVG, PDF): the outlines' own figures.
    Unhinted,
}

/// `font_extents()`: what graphite-web reads of a font.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extents {
    /// Above the baseline.
    pub ascent: f64,
    /// Below the baseline (positive).
    pub descent: f64,
    /// Baseline to baseline.
    pub height: f64,
}

/// Why a font cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("font: {0}")]
pub struct FontError(String);

/// A face at a size, measured one way.
pub struct Font {
    face: FontRef<'static>,
    outlines: OutlineGlyphCollection<'static>,
    hinting: Option<HintingInstance>,
    size: f64,
    units_per_em: f64,
}

impl std::fmt::Debug for Font {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Font")
            .field("size", &self.size)
            .field("hinted", &self.hinting.is_some())
            .finish_non_exhaustive()
    }
}

impl Font {
    /// `face` at `size` pixels, measured as `metrics` says.
    pub fn new(face: Face, size: f64, metrics: Metrics) -> Result<Font, FontError> {
        let err = |e: &dyn std::fmt::Display| FontError(e.to_string());
        let font = FontRef::new(face.data()).map_err(|e| err(&e))?;
        let outlines = font.outline_glyphs();
        let hinting = match metrics {
            Metrics::Hinted => Some(
                HintingInstance::new(
                    &outlines,
                    Size::new(size as f32),
                    LocationRef::default(),
                    HintingOptions::default(),
                )
                .map_err(|e| err(&e))?,
            ),
            Metrics::Unhinted => None,
        };
        let units_per_em = f64::from(
            font.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        Ok(Font {
            face: font,
            outlines,
            hinting,
            size,
            units_per_em,
        })
    }

    fn scale(&self, units: f64) -> f64 {
        units * self.size / self.units_per_em
    }

    /// `font_extents()`.
    pub fn extents(&self) -> Extents {
        let m = self.face.metrics(Size::unscaled(), LocationRef::default());
        let ascent = self.scale(f64::from(m.ascent));
        let descent = -self.scale(f64::from(m.descent));
        let height = self.scale(f64::from(m.ascent - m.descent + m.leading));
        match self.hinting {
            // FreeType's rule for hinted scalable fonts.
            Some(_) => Extents {
                ascent: ascent.ceil(),
                descent: descent.ceil(),
                height: height.round(),
            },
            None => Extents {
                ascent,
                descent,
                height,
            },
        }
    }

    /// `text_extents(text).x_advance`: every character's glyph advance, added up.
    pub fn text_width(&self, text: &str) -> f64 {
        let charmap = self.face.charmap();
        let metrics = self
            .face
            .glyph_metrics(Size::unscaled(), LocationRef::default());
        text.chars()
            .map(|c| {
                let glyph = charmap.map(c).unwrap_or_default();
                let hinted = self.hinting.as_ref().and_then(|h| {
                    self.outlines
                        .get(glyph)?
                        .draw(DrawSettings::hinted(h, false), &mut NullPen)
                        .ok()?
                        .advance_width
                });
                match hinted {
                    Some(advance) => f64::from(advance),
                    None => self.scale(f64::from(metrics.advance_width(glyph).unwrap_or(0.0))),
                }
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use charcoal_pyfmt::oracle::run_python;

    const TEXTS: [&str; 8] = [
        "Hello 123.45 k",
        "0.00 1.00 2.50 10.0 100 1000 ",
        "servers.web01.cpu.user",
        "Current:2.00 kb  Max:3.00 kb  Min:1.00 kb",
        "WWW iii ,.:;'\"!?()[]{}<>|/\\-_=+*&^%$#@~`",
        "sumSeries(app.*.requests)",
        "\u{e9}t\u{e9} \u{b5}s \u{c5}ngstr\u{f6}m",
        "12/07 14:00",
    ];

    /// pycairo (Debian's, graphite-web's own library) on an image and an SVG surface:
    /// font extents and text advances for every face, sizes 6 to 30.
    #[test]
    fn measures_are_cairos() {
        let script = r#"
import sys, json, cairo
texts = json.load(sys.stdin)
out = []
for surface in (cairo.ImageSurface(cairo.FORMAT_ARGB32, 10, 10), cairo.SVGSurface(None, 10, 10)):
    ctx = cairo.Context(surface)
    for slant in (cairo.FONT_SLANT_NORMAL, cairo.FONT_SLANT_ITALIC):
        for weight in (cairo.FONT_WEIGHT_NORMAL, cairo.FONT_WEIGHT_BOLD):
            ctx.select_font_face("Sans", slant, weight)
            for size in range(6, 31):
                ctx.set_font_size(float(size))
                e = ctx.font_extents()
                out.append([e[0], e[1], e[2]] + [ctx.text_extents(t).x_advance for t in texts])
print(json.dumps(out))
"#;
        let answer = run_python(script, serde_json::to_string(&TEXTS).unwrap());
        let want: Vec<Vec<f64>> = serde_json::from_str(answer.trim()).unwrap();
        let mut got = Vec::new();
        for metrics in [Metrics::Hinted, Metrics::Unhinted] {
            for italic in [false, true] {
                for bold in [false, true] {
                    for size in 6..=30 {
                        let font =
                            Font::new(Face::sans(bold, italic), f64::from(size), metrics).unwrap();
                        let e = font.extents();
                        let mut row = vec![e.ascent, e.descent, e.height];
                        row.extend(TEXTS.iter().map(|t| font.text_width(t)));
                        got.push((metrics, italic, bold, size, row));
                    }
                }
            }
        }
        assert_eq!(got.len(), want.len());
        for ((metrics, italic, bold, size, got), want) in got.into_iter().zip(want) {
            // cairo's matrix arithmetic leaves float noise (12.000000000000002); a
            // millionth of a pixel is nothing on a graph.
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() < 1e-6,
                    "{metrics:?} italic {italic} bold {bold} size {size}, figure {i}: {g} against cairo's {w}"
                );
            }
        }
    }
}
