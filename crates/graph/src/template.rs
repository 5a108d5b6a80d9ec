//! `template=`: a graph's default colours and font from graphTemplates.conf, as
//! graphite-web's `loadTemplate` resolves them.
//!
//! The file lives in carbon's `CONF_DIR`. Its `[default]` section overrides graphite-web's
//! built-in defaults; a named section replaces them key by key (a key the section lacks
//! comes from the defaults, `[default]` included). A template that names no section gets
//! the defaults, and so does every template when there is no file. The caller parses the
//! file (an INI file, read as configparser reads it) and hands the sections over: this
//! crate does no I/O.

use charcoal_protocol::pynum::parse_float;

/// What a template decides.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// `bgcolor`'s default.
    pub background: String,
    /// `fgcolor`'s default.
    pub foreground: String,
    /// `majorGridLineColor`'s default.
    pub major_line: String,
    /// `minorGridLineColor`'s default.
    pub minor_line: String,
    /// `colorList`'s default.
    pub line_colors: Vec<String>,
    /// `fontName`'s default.
    pub font_name: String,
    /// `fontSize`'s default (graphite-web reads it as a float, then draws with its integer
    /// part).
    pub font_size: f64,
    /// `fontBold`'s default.
    pub font_bold: bool,
    /// `fontItalic`'s default.
    pub font_italic: bool,
}

/// graphite-web's built-in `defaultGraphOptions`.
const BUILT_IN: [(&str, &str); 9] = [
    ("background", "white"),
    ("foreground", "black"),
    ("majorline", "rose"),
    ("minorline", "grey"),
    (
        "linecolors",
        "blue,green,red,purple,brown,yellow,aqua,grey,magenta,pink,gold,rose",
    ),
    ("fontname", "Sans"),
    ("fontsize", "10"),
    ("fontbold", "false"),
    ("fontitalic", "false"),
];

/// Why a template's value could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("graphTemplates.conf: {key} = {value:?} is not a number")]
pub struct TemplateError {
    /// The key (lower case).
    pub key: String,
    /// Its value.
    pub value: String,
}

/// One section of graphTemplates.conf: its name and its `(key, value)` pairs, keys lower
/// case, as configparser hands them out.
pub type Section = (String, Vec<(String, String)>);

/// Resolves `template` (`default` when the request names none) against the file's sections
/// (`None`: there is no file).
pub fn resolve(file: Option<&[Section]>, template: &str) -> Result<Template, TemplateError> {
    let mut defaults: Vec<(String, String)> = BUILT_IN
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut chosen: Option<&[(String, String)]> = None;
    if let Some(sections) = file {
        let section = |name: &str| {
            sections
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, kv)| kv.as_slice())
        };
        for (k, v) in section("default").unwrap_or(&[]) {
            match defaults.iter_mut().find(|(dk, _)| dk == k) {
                Some(slot) => slot.1 = v.clone(),
                None => defaults.push((k.clone(), v.clone())),
            }
        }
        chosen = section(template);
    }
    let get = |key: &str| -> String {
        chosen
            .and_then(|kv| kv.iter().find(|(k, _)| k == key))
            .or_else(|| defaults.iter().find(|(k, _)| k == key))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let font_size_text = get("fontsize");
    let font_size = parse_float(&font_size_text).ok_or_else(|| TemplateError {
        key: "fontsize".into(),
        value: font_size_text.clone(),
    })?;
    Ok(Template {
        background: get("background"),
        foreground: get("foreground"),
        major_line: get("majorline"),
        minor_line: get("minorline"),
        line_colors: get("linecolors")
            .split(',')
            .map(|c| c.trim().to_owned())
            .collect(),
        font_name: get("fontname"),
        font_size,
        font_bold: get("fontbold").to_lowercase() == "true",
        font_italic: get("fontitalic").to_lowercase() == "true",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use charcoal_pyfmt::oracle::run_python;

    fn sections(text: &[(&str, &[(&str, &str)])]) -> Vec<Section> {
        text.iter()
            .map(|(n, kv)| {
                (
                    (*n).to_owned(),
                    kv.iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                )
            })
            .collect()
    }

    /// Debian's glyph.py `loadTemplate` on the same file and names, its results printed.
    #[test]
    fn templates_resolve_as_graphite_web_resolves_them() {
        let file = "[default]\nbackground = black\nforeground = white\nfontSize = 12.7\n\n\
                    [solarized]\nbackground = #002b36\nlineColors = #268bd2, #859900 ,#dc322f\n\
                    fontBold = True\n\n[plain]\nfontname = DejaVu Serif\n";
        let parsed = sections(&[
            (
                "default",
                &[
                    ("background", "black"),
                    ("foreground", "white"),
                    ("fontsize", "12.7"),
                ],
            ),
            (
                "solarized",
                &[
                    ("background", "#002b36"),
                    ("linecolors", "#268bd2, #859900 ,#dc322f"),
                    ("fontbold", "True"),
                ],
            ),
            ("plain", &[("fontname", "DejaVu Serif")]),
        ]);
        let names = ["default", "solarized", "plain", "missing"];
        let script = r#"
import sys, json, os, tempfile, warnings
warnings.simplefilter("ignore")
os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
from django.conf import settings
from graphite.render import glyph
text, names = json.load(sys.stdin)
out = []
for with_file in (True, False):
    for name in names:
        # loadTemplate updates the module's defaults in place: start clean each time.
        glyph.defaultGraphOptions = dict(background='white', foreground='black', majorline='rose',
            minorline='grey', linecolors='blue,green,red,purple,brown,yellow,aqua,grey,magenta,pink,gold,rose',
            fontname='Sans', fontsize=10, fontbold='false', fontitalic='false')
        d = tempfile.mkdtemp()
        path = os.path.join(d, "graphTemplates.conf")
        if with_file:
            open(path, "w").write(text)
        settings.GRAPHTEMPLATES_CONF = path
        class G: pass
        g = G(); g.params = {}
        glyph.Graph.loadTemplate(g, name)
        f = g.defaultFontParams
        out.append([g.defaultBackground, g.defaultForeground, g.defaultMajorGridLineColor,
                    g.defaultMinorGridLineColor, g.defaultColorList, f["name"], f["size"],
                    f["bold"], f["italic"]])
print(json.dumps(out))
"#;
        let input = serde_json::to_string(&(file, names)).unwrap();
        let want: Vec<serde_json::Value> =
            serde_json::from_str(run_python(script, input).trim()).unwrap();
        let mut got = Vec::new();
        for file in [Some(parsed.as_slice()), None] {
            for name in names {
                let t = resolve(file, name).unwrap();
                got.push(serde_json::json!([
                    t.background,
                    t.foreground,
                    t.major_line,
                    t.minor_line,
                    t.line_colors,
                    t.font_name,
                    t.font_size as i64,
                    t.font_bold,
                    t.font_italic
                ]));
            }
        }
        assert_eq!(got, want);
    }

    #[test]
    fn a_font_size_that_is_not_a_number_is_an_error() {
        let file = sections(&[("default", &[("fontsize", "big")])]);
        let err = resolve(Some(&file), "x").unwrap_err();
        assert_eq!(err.key, "fontsize");
        assert_eq!(resolve(None, "x").unwrap().font_size, 10.0);
    }
}
