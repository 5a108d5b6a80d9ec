//! `template(...)`: substituting `$name` in path expressions, as graphite-web's evaluator does.
//!
//! graphite-web (`render/evaluator.py`, 1.1.8) evaluates `template(inner, v1, v2)` or
//! `template(inner, name=v)` by binding, in this order, the keyword values (by name), the
//! positional values (as `"1"`, `"2"`, ...) and then the request's `template[name]=value`
//! parameters (which replace a binding of the same name but keep its place). It then walks
//! `inner`; for every path expression it goes through the bindings in that order and
//!
//! - if the path is exactly `$name`, the path *becomes the value*: a number stays a number, a
//!   string that looks like a number (`^-?[0-9.]+$`) becomes a float, any other string
//!   stays a string (so `template(scale(a.b, $1), 2)` is `scale(a.b, 2)`);
//! - otherwise every `$name` in the path is replaced by `str(value)` (`2`, `2.5`, `1e-05`,
//!   a string's text as written), and the next binding sees the result: with bindings `1`
//!   and `10`, `$10` becomes the value of `$1` followed by `0`.
//!
//! Only paths change: strings and other literals are left alone. A `template` nested inside
//! uses its own bindings (plus the request's), never the outer ones. Request parameters
//! apply only inside `template(...)`.
//!
//! # Differs from graphite-web
//!
//! - A binding that looks like a number but is not one (`template[x]=1.2.3` used as `$x`) is
//!   a [`TemplateError`]; graphite-web raises a Python `ValueError` (HTTP 500).
//! - "Looks like a number" means ASCII digits; Python's `\d` also takes other scripts'
//!   digits (`'١'` would become the float 1.0 there and stays a string here).
//! - Integer values outside `i64` are floats already (see [`crate::ast::ExprKind::Int`]), so
//!   they are substituted in float form.

use crate::ast::{Expr, ExprKind, Template};
use charcoal_pyfmt::repr as float_repr;

/// Why a template cannot be expanded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// A path was exactly `$name` and the value looks like a number but is not one.
    #[error("cannot substitute template variable '${name}': {value:?} is not a number")]
    InvalidNumber {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
    },
}

/// A bound value, as graphite-web's `evaluateScalarTokens` produces it.
#[derive(Clone, Debug)]
enum Value {
    Int(i64),
    Float(f64),
    Str(String, char),
}

impl Value {
    /// Python's `str(value)`.
    fn text(&self) -> String {
        match self {
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_repr(*f),
            Value::Str(s, _) => s.clone(),
        }
    }
}

/// Bindings in Python `dict` order: a new name goes last, a repeated name keeps its place.
type Bindings = Vec<(String, Value)>;

fn bind(bindings: &mut Bindings, name: &str, value: Value) {
    match bindings.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = value,
        None => bindings.push((name.to_owned(), value)),
    }
}

/// Replaces every [`Template`] in `expr` by its inner expression with `$name` substituted,
/// using the template's own values and then `params` (the request's
/// `template[name]=value` pairs, in request order).
///
/// ```
/// use charcoal_query::{expand_templates, parse_target};
///
/// let t = parse_target("template(sumSeries(servers.$host.cpu), host='web1')").unwrap();
/// let e = expand_templates(t.expr(), &[]).unwrap();
/// assert_eq!(e.to_string(), "sumSeries(servers.web1.cpu)");
///
/// let params = [("host".to_string(), "db*".to_string())];
/// let e = expand_templates(t.expr(), &params).unwrap();
/// assert_eq!(e.to_string(), "sumSeries(servers.db*.cpu)");
/// ```
pub fn expand_templates(expr: &Expr, params: &[(String, String)]) -> Result<Expr, TemplateError> {
    walk(expr, None, params)
}

/// Copies `expr`, substituting paths with `bindings` (when inside a template) and
/// expanding nested templates.
fn walk(
    expr: &Expr,
    bindings: Option<&Bindings>,
    params: &[(String, String)],
) -> Result<Expr, TemplateError> {
    let kind = match &expr.kind {
        ExprKind::Template(t) => return expand(t, params),
        ExprKind::Path(p) => match bindings {
            Some(b) => substitute(p, b)?,
            None => return Ok(expr.clone()),
        },
        ExprKind::Call(c) => {
            let mut c = c.clone();
            for a in &mut c.args {
                *a = walk(a, bindings, params)?;
            }
            for k in &mut c.kwargs {
                k.value = walk(&k.value, bindings, params)?;
            }
            ExprKind::Call(c)
        }
        _ => return Ok(expr.clone()),
    };
    Ok(Expr {
        kind,
        span: expr.span,
    })
}

fn expand(t: &Template, params: &[(String, String)]) -> Result<Expr, TemplateError> {
    let mut bindings = Bindings::new();
    for k in &t.kwargs {
        bind(&mut bindings, &k.name, scalar(&k.value));
    }
    for (i, a) in t.args.iter().enumerate() {
        bind(&mut bindings, &(i + 1).to_string(), scalar(a));
    }
    for (name, value) in params {
        bind(&mut bindings, name, Value::Str(value.clone(), '"'));
    }
    walk(&t.inner, Some(&bindings), params)
}

/// graphite-web's `evaluateScalarTokens` for a template value.
fn scalar(e: &Expr) -> Value {
    match &e.kind {
        ExprKind::Int(i) => Value::Int(*i),
        ExprKind::Float(f) => Value::Float(*f),
        ExprKind::Str { value, quote } => Value::Str(value.clone(), *quote),
        // The grammar only allows numbers and strings here.
        _ => Value::Str(e.to_string(), '"'),
    }
}

fn substitute(path: &str, bindings: &Bindings) -> Result<ExprKind, TemplateError> {
    let mut expression = path.to_owned();
    for (name, value) in bindings {
        let var = format!("${name}");
        if expression == var {
            return Ok(match value {
                Value::Int(i) => ExprKind::Int(*i),
                Value::Float(f) => ExprKind::Float(*f),
                Value::Str(s, _) if looks_numeric(s) => {
                    ExprKind::Float(py_float(s).ok_or_else(|| TemplateError::InvalidNumber {
                        name: name.clone(),
                        value: s.clone(),
                    })?)
                }
                Value::Str(s, quote) => ExprKind::Str {
                    value: s.clone(),
                    quote: *quote,
                },
            });
        }
        if expression.contains(&var) {
            expression = expression.replace(&var, &value.text());
        }
    }
    Ok(ExprKind::Path(expression))
}

/// `re.match(r'^-?[\d.]+$', s)` (where `$` also matches before a final newline).
fn looks_numeric(s: &str) -> bool {
    let s = s.strip_suffix('\n').unwrap_or(s);
    let s = s.strip_prefix('-').unwrap_or(s);
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// Python's `float(s)` for strings [`looks_numeric`] accepts.
fn py_float(s: &str) -> Option<f64> {
    s.trim_end_matches('\n').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_target;

    #[test]
    fn expand_templates_like_graphite() {
        let f = |target: &str, params: &[(&str, &str)], want: &str| {
            let params: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let t = parse_target(target).unwrap();
            let got = expand_templates(t.expr(), &params).unwrap();
            assert_eq!(got.to_string(), want, "{target} {params:?}");
        };
        f("template(a.$1.b, 'x')", &[], "a.x.b");
        f("template(a.$1.$2, 'x', 3)", &[], "a.x.3");
        f("template(a.$1, 2.5)", &[], "a.2.5");
        f("template(a.$1, 1e-5)", &[], "a.1e-05");
        f("template(a.$1, 1E20)", &[], "a.1e+20");
        f("template(a.$x, x=\"y\")", &[], "a.y");
        // Request parameters replace the template's own values.
        f("template(a.$x, x='y')", &[("x", "z")], "a.z");
        f("template(a.$x.$y, x='y')", &[("y", "w")], "a.y.w");
        // Unbound variables stay as they are.
        f("template(a.$x)", &[], "a.$x");
        // Sequential replacement in binding order: $1 is replaced inside $10 first.
        f(
            "template(a.$10, 'x', 2, 3, 4, 5, 6, 7, 8, 9, 'ten')",
            &[],
            "a.x0",
        );
        // A path that is exactly a variable becomes the value itself.
        f("template(scale(a.b, $1), 2)", &[], "scale(a.b,2)");
        f("template(scale(a.b, $1), 2.0)", &[], "scale(a.b,2.0)");
        f("template(scale(a.b, $1), '2')", &[], "scale(a.b,2.0)");
        f("template(scale(a.b, $1), '-.5')", &[], "scale(a.b,-0.5)");
        f("template(alias(a.b, $1), 'x')", &[], "alias(a.b,'x')");
        f(
            "template(alias(a.b, $n))",
            &[("n", "name")],
            "alias(a.b,\"name\")",
        );
        // Strings are not substituted; only paths are.
        f("template(alias(a.$1, '$1'), 'x')", &[], "alias(a.x,'$1')");
        // Pipes inside the template are substituted; pipes after it are outside.
        f(
            "template(a.$1|scale(2), 'x')",
            &[],
            "template(a.$1|scale(2),'x')",
        );
        f("template(a.$1, 'x')|scale($1)", &[], "a.x|scale($1)");
        // Nested templates use their own values, not the outer ones.
        f(
            "template(sumSeries(a.$1, template(b.$1, 'in')), 'out')",
            &[],
            "sumSeries(a.out,b.in)",
        );
        // Request values apply only inside template().
        f("sumSeries(a.$x)", &[("x", "y")], "sumSeries(a.$x)");
        f(
            "sumSeries(template(a.$x), c.$x)",
            &[("x", "y")],
            "sumSeries(a.y,c.$x)",
        );
    }

    #[test]
    fn expand_templates_refuses_bad_numbers() {
        let t = parse_target("template(scale(a, $x))").unwrap();
        let params = [("x".to_string(), "1.2.3".to_string())];
        let e = expand_templates(t.expr(), &params).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot substitute template variable '$x': \"1.2.3\" is not a number"
        );
    }
}
