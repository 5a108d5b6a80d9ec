//! Function declarations: every render function states its parameters once, and that one
//! declaration drives argument binding and checking here and the `/functions` listing in the
//! API.
//!
//! Binding follows graphite-web's `validateParams` (`functions/params.py`): positional
//! arguments take the first parameters in order (extra ones go to a final `multiple`
//! parameter), keyword arguments may only name the parameters after the positional ones, a
//! missing required parameter or an unknown keyword is an error, and each value is checked
//! and converted by its parameter's type (`float` accepts `2` and `"2"` and gives `2.0`,
//! `integer` refuses `2.5`, `boolean` accepts `"true"` and `1`, ...).
//!
//! # Differs from graphite-web
//!
//! graphite-web ships with `ENFORCE_INPUT_VALIDATION = False`: a failed check is only logged
//! and the mistyped value reaches the function, which then usually raises (HTTP 500) or
//! computes something odd. Charcoal always enforces the declaration and answers 400 with
//! graphite-web's own message for the check that failed.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::aggfunc::{AGG_FUNC_NAMES, AggFunc};
use crate::ast::Expr;
use crate::error::EvalError;
use crate::eval::Ctx;
use crate::series::Series;
use crate::value::Value;

/// A parameter type, by the name `/functions` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    /// A list of series (`seriesList`).
    SeriesList,
    /// Several lists of series (`seriesLists`).
    SeriesLists,
    /// One series (`series`).
    Series,
    /// A number, converted to float (`float`).
    Float,
    /// An integer; a float is refused (`integer`).
    Integer,
    /// A node index (`node`), checked as an integer.
    Node,
    /// A node index or a tag name (`nodeOrTag`), not checked.
    NodeOrTag,
    /// A tag name (`tag`), not checked.
    Tag,
    /// A time offset such as `"5min"` (`interval`).
    Interval,
    /// A number of points or a time offset (`intOrInterval`), not checked.
    IntOrInterval,
    /// An integer or `inf` (`intOrInf`).
    IntOrInf,
    /// A string (`string`), not checked.
    String,
    /// A boolean (`boolean`).
    Boolean,
    /// An aggregation function name (`aggFunc`).
    AggFunc,
    /// An aggregation function or an aggregating series function name (`aggOrSeriesFunc`).
    AggOrSeriesFunc,
    /// A date (`date`), not checked.
    Date,
    /// Anything (`any`).
    Any,
}

impl ParamType {
    /// The name graphite-web uses.
    pub fn name(self) -> &'static str {
        match self {
            ParamType::SeriesList => "seriesList",
            ParamType::SeriesLists => "seriesLists",
            ParamType::Series => "series",
            ParamType::Float => "float",
            ParamType::Integer => "integer",
            ParamType::Node => "node",
            ParamType::NodeOrTag => "nodeOrTag",
            ParamType::Tag => "tag",
            ParamType::Interval => "interval",
            ParamType::IntOrInterval => "intOrInterval",
            ParamType::IntOrInf => "intOrInf",
            ParamType::String => "string",
            ParamType::Boolean => "boolean",
            ParamType::AggFunc => "aggFunc",
            ParamType::AggOrSeriesFunc => "aggOrSeriesFunc",
            ParamType::Date => "date",
            ParamType::Any => "any",
        }
    }
}

/// A declared default value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Default {
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(&'static str),
    /// A boolean.
    Bool(bool),
}

impl Default {
    fn value(self) -> Value {
        match self {
            Default::Int(i) => Value::Int(i),
            Default::Float(f) => Value::Float(f),
            Default::Str(s) => Value::Str(s.to_owned()),
            Default::Bool(b) => Value::Bool(b),
        }
    }
}

/// One parameter.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// Its name (keyword arguments use it).
    pub name: &'static str,
    /// Its type.
    pub ty: ParamType,
    /// Whether it must be given.
    pub required: bool,
    /// The value used when it is not given.
    pub default: Option<Default>,
    /// Whether it takes all remaining positional arguments.
    pub multiple: bool,
    /// The only values allowed (strings), if restricted.
    pub options: &'static [&'static str],
    /// Values an editor offers first (Grafana's drop-down); any other valid value is fine.
    pub suggestions: &'static [Default],
    /// The value the Python function's signature gives a parameter that its declaration
    /// marks required (`highest(seriesList, n=1)`): graphite-web, which does not enforce
    /// its declarations, serves the call without it, so Charcoal does too, while
    /// `/functions` still reports the declaration.
    pub fallback: Option<Default>,
    /// A wider type the evaluator accepts where the declaration is narrower than what the
    /// function computes with (`dashed`'s `integer` length takes `2.5` in graphite-web).
    pub accepts: Option<ParamType>,
}

impl Param {
    /// An optional parameter without a default.
    pub const fn new(name: &'static str, ty: ParamType) -> Param {
        Param {
            name,
            ty,
            required: false,
            default: None,
            multiple: false,
            options: &[],
            suggestions: &[],
            fallback: None,
            accepts: None,
        }
    }

    /// A required parameter.
    pub const fn req(name: &'static str, ty: ParamType) -> Param {
        Param::new(name, ty).required()
    }

    /// Marks it required.
    pub const fn required(mut self) -> Param {
        self.required = true;
        self
    }

    /// Sets the default.
    pub const fn default(mut self, d: Default) -> Param {
        self.default = Some(d);
        self
    }

    /// Marks it as taking the remaining arguments.
    pub const fn multiple(mut self) -> Param {
        self.multiple = true;
        self
    }

    /// Restricts it to `options`.
    pub const fn options(mut self, options: &'static [&'static str]) -> Param {
        self.options = options;
        self
    }

    /// Sets the value used when a required parameter is missing (see [`Param::fallback`]).
    pub const fn fallback(mut self, d: Default) -> Param {
        self.fallback = Some(d);
        self
    }

    /// Widens the type the evaluator accepts (see [`Param::accepts`]).
    pub const fn accepts(mut self, ty: ParamType) -> Param {
        self.accepts = Some(ty);
        self
    }

    /// Sets the values an editor suggests.
    pub const fn suggestions(mut self, suggestions: &'static [Default]) -> Param {
        self.suggestions = suggestions;
        self
    }

    /// The allowed values as `/functions` lists them: the declared ones plus the type's
    /// own (aggregation function names), sorted.
    pub fn all_options(&self) -> Vec<String> {
        let mut out: Vec<String> = self.options.iter().map(|s| (*s).to_owned()).collect();
        match self.ty {
            ParamType::AggFunc => out.extend(AGG_FUNC_NAMES.iter().map(|s| (*s).to_owned())),
            ParamType::AggOrSeriesFunc => {
                out.extend(AGG_FUNC_NAMES.iter().map(|s| (*s).to_owned()));
                out.extend(aggregator_names().iter().map(|s| (*s).to_owned()));
            }
            _ => {}
        }
        out.sort();
        out.dedup();
        out
    }
}

/// graphite-web's suggestions for bucket intervals (`summarize`, `hitcount`, ...).
pub const SUGGEST_BUCKETS: &[Default] = &[
    Default::Str("10min"),
    Default::Str("1h"),
    Default::Str("1d"),
];
/// graphite-web's suggestions for time shifts.
pub const SUGGEST_SHIFTS: &[Default] = &[
    Default::Str("1h"),
    Default::Str("6h"),
    Default::Str("12h"),
    Default::Str("1d"),
    Default::Str("2d"),
    Default::Str("7d"),
    Default::Str("14d"),
    Default::Str("30d"),
];
/// graphite-web's suggestions for moving windows (points or intervals).
pub const SUGGEST_WINDOWS: &[Default] = &[
    Default::Int(5),
    Default::Int(7),
    Default::Int(10),
    Default::Str("1min"),
    Default::Str("5min"),
    Default::Str("10min"),
    Default::Str("30min"),
    Default::Str("1hour"),
];
/// graphite-web's suggestions for Holt-Winters bootstrap intervals.
pub const SUGGEST_BOOTSTRAP: &[Default] = &[Default::Str("7d"), Default::Str("30d")];
/// graphite-web's suggestions for Holt-Winters seasonality.
pub const SUGGEST_SEASONALITY: &[Default] = &[Default::Str("1d"), Default::Str("7d")];

/// What a function computes from its bound arguments.
pub type Run = fn(&Ctx<'_>, &mut Args) -> Result<Vec<Series>, EvalError>;

/// One render function.
#[derive(Clone, Copy, Debug)]
pub struct FunctionDef {
    /// The name targets call it by.
    pub name: &'static str,
    /// graphite-web's group (`Combine`, `Transform`, ...).
    pub group: &'static str,
    /// Parameters in order.
    pub params: &'static [Param],
    /// Whether it aggregates a list into one series (usable as an `aggOrSeriesFunc`).
    pub aggregator: bool,
    /// One line on what it does.
    pub summary: &'static str,
    /// The implementation.
    pub run: Run,
}

static REGISTRY: LazyLock<HashMap<&'static str, &'static FunctionDef>> = LazyLock::new(|| {
    crate::functions::ALL
        .iter()
        .flat_map(|group| group.iter())
        .map(|f| (f.name, f))
        .collect()
});

/// The function called `name`.
pub fn lookup(name: &str) -> Option<&'static FunctionDef> {
    REGISTRY.get(name).copied()
}

/// Every function, in declaration order (group by group).
pub fn all() -> impl Iterator<Item = &'static FunctionDef> {
    crate::functions::ALL.iter().flat_map(|group| group.iter())
}

/// Names of the aggregating functions (`sumSeries`, ...), for `aggOrSeriesFunc`.
pub fn aggregator_names() -> Vec<&'static str> {
    all().filter(|f| f.aggregator).map(|f| f.name).collect()
}

/// Bound, checked arguments of one call.
#[derive(Debug)]
pub struct Args {
    func: &'static str,
    params: &'static [Param],
    slots: Vec<Option<Value>>,
    /// Values beyond the last parameter (which is `multiple`).
    extra: Vec<Value>,
    raw: Vec<Expr>,
}

impl Args {
    /// Binds evaluated positional and keyword arguments to `def`'s parameters.
    pub fn bind(
        def: &'static FunctionDef,
        positional: Vec<Value>,
        keywords: Vec<(String, Value)>,
        raw: Vec<Expr>,
    ) -> Result<Args, EvalError> {
        let params = def.params;
        let func = def.name;
        let mut slots: Vec<Option<Value>> = vec![None; params.len()];
        let mut extra = Vec::new();
        let keyword_params: &[Param] = if positional.len() + keywords.len() > params.len() {
            if !params.last().is_some_and(|p| p.multiple) {
                return Err(EvalError::TooManyArguments {
                    function: func.into(),
                });
            }
            &[]
        } else {
            &params[positional.len()..]
        };
        for (i, value) in positional.into_iter().enumerate() {
            let param = &params[i.min(params.len() - 1)];
            let checked = check(func, param, value)?;
            if i < params.len() {
                slots[i] = checked;
            } else if let Some(v) = checked {
                extra.push(v);
            }
        }
        let offset = params.len() - keyword_params.len();
        let mut used = vec![false; keywords.len()];
        for (k, param) in keyword_params.iter().enumerate() {
            // Python's dict(...) keeps the last of repeated keywords.
            let found = keywords.iter().rposition(|(name, _)| name == param.name);
            match found {
                Some(pos) => {
                    for (u, (name, _)) in used.iter_mut().zip(&keywords) {
                        if name == param.name {
                            *u = true;
                        }
                    }
                    let value = keywords[pos].1.clone();
                    if matches!(value, Value::None) && param.required {
                        return Err(EvalError::MissingArgument {
                            function: func.into(),
                            param: param.name.into(),
                        });
                    }
                    slots[offset + k] = check(func, param, value)?;
                }
                None if param.required && param.fallback.is_none() => {
                    return Err(EvalError::MissingArgument {
                        function: func.into(),
                        param: param.name.into(),
                    });
                }
                None => {}
            }
        }
        let unexpected: Vec<String> = keywords
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|((name, _), _)| name.clone())
            .collect();
        if !unexpected.is_empty() {
            return Err(EvalError::UnexpectedKeywords {
                function: func.into(),
                keys: unexpected.join(", "),
            });
        }
        // A required positional parameter that was never reached.
        for (i, param) in params.iter().enumerate() {
            let filled = slots[i].is_some() || (param.multiple && !extra.is_empty());
            if param.required && param.fallback.is_none() && !filled {
                return Err(EvalError::MissingArgument {
                    function: func.into(),
                    param: param.name.into(),
                });
            }
        }
        Ok(Args {
            func,
            params,
            slots,
            extra,
            raw,
        })
    }

    /// The function's name.
    pub fn function(&self) -> &'static str {
        self.func
    }

    /// The unevaluated expression of positional argument `i` (functions that re-fetch with
    /// another time range evaluate it again).
    pub fn raw(&self, i: usize) -> Option<&Expr> {
        self.raw.get(i)
    }

    /// The value of parameter `i`, or its default.
    pub fn get(&self, i: usize) -> Option<Value> {
        match self.slots.get(i) {
            Some(Some(v)) => Some(v.clone()),
            _ => self
                .params
                .get(i)
                .and_then(|p| p.default.or(p.fallback))
                .map(Default::value),
        }
    }

    /// Whether parameter `i` was given (not defaulted).
    pub fn given(&self, i: usize) -> bool {
        matches!(self.slots.get(i), Some(Some(_)))
    }

    /// Takes the series list of parameter `i` (empty if not given).
    pub fn series(&mut self, i: usize) -> Vec<Series> {
        match self.slots.get_mut(i).and_then(Option::take) {
            Some(Value::Series(s)) => s,
            _ => Vec::new(),
        }
    }

    /// Takes every series list of a `multiple` parameter `i`.
    pub fn series_lists(&mut self, i: usize) -> Vec<Vec<Series>> {
        let mut out = Vec::new();
        if let Some(Value::Series(s)) = self.slots.get_mut(i).and_then(Option::take) {
            out.push(s);
        }
        for v in self.extra.drain(..) {
            if let Value::Series(s) = v {
                out.push(s);
            }
        }
        out
    }

    /// Every value of a `multiple` parameter `i` (the first plus the extra ones).
    pub fn values(&self, i: usize) -> Vec<Value> {
        let mut out: Vec<Value> = self.get(i).into_iter().collect();
        out.extend(self.extra.iter().cloned());
        out
    }

    /// Parameter `i` as a float, if given or defaulted.
    pub fn opt_float(&self, i: usize) -> Option<f64> {
        self.get(i).and_then(|v| v.as_f64())
    }

    /// Parameter `i` as a float (NaN if absent).
    pub fn float(&self, i: usize) -> f64 {
        self.opt_float(i).unwrap_or(f64::NAN)
    }

    /// Parameter `i` as an integer, if given or defaulted.
    pub fn opt_int(&self, i: usize) -> Option<i64> {
        self.get(i).and_then(|v| v.as_i64())
    }

    /// Parameter `i` as an integer (0 if absent).
    pub fn int(&self, i: usize) -> i64 {
        self.opt_int(i).unwrap_or(0)
    }

    /// Parameter `i` as text, if given or defaulted.
    pub fn opt_str(&self, i: usize) -> Option<String> {
        self.get(i).map(|v| v.py_str())
    }

    /// Parameter `i` as text (empty if absent).
    pub fn str(&self, i: usize) -> String {
        self.opt_str(i).unwrap_or_default()
    }

    /// Parameter `i` as a boolean (false if absent).
    pub fn bool(&self, i: usize) -> bool {
        self.get(i).is_some_and(|v| v.truthy())
    }

    /// Parameter `i` as an aggregation function (`Series` suffix allowed).
    pub fn agg(&self, i: usize) -> Result<AggFunc, EvalError> {
        let name = self.str(i);
        AggFunc::from_name_or_series(&name).ok_or_else(|| EvalError::Function {
            function: self.func.into(),
            message: format!("Unsupported aggregation function: {name}"),
        })
    }
}

/// Checks and converts one value for `param` (graphite-web's `Param.validateValue`).
/// `None` for an optional parameter stays unset.
fn check(func: &str, param: &Param, value: Value) -> Result<Option<Value>, EvalError> {
    if matches!(value, Value::None) {
        if param.required && param.default.is_none() {
            return Err(invalid(func, param, &value));
        }
        return Ok(None);
    }
    if !param.options.is_empty() {
        let text = match &value {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        };
        if !text.is_some_and(|t| param.options.contains(&t)) {
            return Err(EvalError::InvalidOption {
                function: func.into(),
                param: param.name.into(),
                value: value.py_repr(),
            });
        }
    }
    if matches!(
        param.ty,
        ParamType::SeriesList | ParamType::SeriesLists | ParamType::Series
    ) && matches!(value, Value::Series(_))
    {
        return Ok(Some(value));
    }
    let converted = convert(param.ty, &value).or_else(|| match (param.accepts, &value) {
        // graphite-web hands a value that failed its check to the function unconverted;
        // a string there fails as soon as the function computes with it.
        (Some(wider), v) if !matches!(v, Value::Str(_)) => convert(wider, v),
        _ => None,
    });
    match converted {
        Some(v) => Ok(Some(v)),
        None => Err(invalid(func, param, &value)),
    }
}

/// `value` converted to `ty` as graphite-web's validator for it converts, if it passes.
fn convert(ty: ParamType, value: &Value) -> Option<Value> {
    match ty {
        ParamType::SeriesList | ParamType::SeriesLists | ParamType::Series => None,
        ParamType::Float => value.py_float().map(Value::Float),
        ParamType::Integer | ParamType::Node => value.py_int().map(Value::Int),
        ParamType::IntOrInf => match value.py_int() {
            Some(i) => Some(Value::Int(i)),
            None => value
                .py_float()
                .filter(|f| *f == f64::INFINITY)
                .map(Value::Float),
        },
        ParamType::Boolean => match &value {
            Value::Bool(b) => Some(Value::Bool(*b)),
            Value::Str(s) if s.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
            Value::Str(s) if s.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
            Value::Int(0) => Some(Value::Bool(false)),
            Value::Int(1) => Some(Value::Bool(true)),
            Value::Float(f) if *f == 0.0 => Some(Value::Bool(false)),
            Value::Float(f) if *f == 1.0 => Some(Value::Bool(true)),
            _ => None,
        },
        ParamType::Interval => match &value {
            Value::Str(s) if crate::time::parse_time_offset(s).is_ok() => Some(value.clone()),
            _ => None,
        },
        ParamType::AggFunc => match &value {
            Value::Str(s) if AggFunc::from_name_or_series(s).is_some() => Some(value.clone()),
            _ => None,
        },
        ParamType::AggOrSeriesFunc => match &value {
            Value::Str(s)
                if AggFunc::from_name_or_series(s).is_some()
                    || aggregator_names().contains(&s.as_str()) =>
            {
                Some(value.clone())
            }
            _ => None,
        },
        ParamType::NodeOrTag
        | ParamType::Tag
        | ParamType::IntOrInterval
        | ParamType::String
        | ParamType::Date
        | ParamType::Any => Some(value.clone()),
    }
}

fn invalid(func: &str, param: &Param, value: &Value) -> EvalError {
    EvalError::InvalidArgument {
        function: func.into(),
        param: param.name.into(),
        ty: param.ty.name(),
        value: value.py_repr(),
    }
}

#[cfg(test)]
mod tests {
    use crate::eval::{Limits, Request, evaluate_targets};
    use crate::source::MemorySource;
    use crate::{EvalError, Series};

    fn render(target: &str) -> Result<Vec<Series>, EvalError> {
        let mut source = MemorySource::new();
        for (name, v) in [("m.a", 1.0), ("m.b", 3.0), ("m.c", 2.0)] {
            source.insert(name, 10, (0..6).map(|i| (1000 + i * 10, v)));
        }
        let req = Request {
            source: &source,
            from: 1000,
            until: 1060,
            now: 1060,
            tz: jiff::tz::TimeZone::UTC,
            x_files_factor: 0.0,
            templates: Vec::new(),
            limits: Limits::default(),
        };
        evaluate_targets(&req, &[target.to_owned()])
    }

    fn names(target: &str) -> Vec<String> {
        render(target)
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect()
    }

    #[test]
    fn a_missing_required_parameter_takes_the_python_signatures_default() {
        assert_eq!(names("highest(m.*)"), ["m.b"]);
        assert_eq!(names("lowest(m.*, func='max')"), ["m.a"]);
        // mostDeviant's Python signature has no default: graphite-web fails too.
        assert!(matches!(
            render("mostDeviant(m.*)"),
            Err(EvalError::MissingArgument { .. })
        ));
        // None is not a missing argument: int(None) fails in graphite-web.
        assert!(render("highest(m.*, None)").is_err());
    }

    #[test]
    fn a_wider_accepted_type_takes_numbers_but_not_text() {
        assert_eq!(names("highest(m.*, 2.9)"), ["m.b", "m.c"]);
        assert_eq!(names("highest(m.*, '2')"), ["m.b", "m.c"]);
        assert!(matches!(
            render("highest(m.*, '2.5')"),
            Err(EvalError::InvalidArgument { .. })
        ));
        assert!(render("highest(m.*, inf)").is_err());
        let dashed = render("dashed(m.a, 2.5)").unwrap();
        assert_eq!(dashed[0].name, "dashed(m.a, 2.5)");
        assert_eq!(dashed[0].tags.get("dashed"), Some("2.5"));
        assert_eq!(dashed[0].options.dashed, Some(2.5));
        let dashed = render("dashed(m.a)").unwrap();
        assert_eq!(dashed[0].name, "dashed(m.a, 5)");
        assert_eq!(dashed[0].tags.get("dashed"), Some("5"));
        assert_eq!(dashed[0].options.dashed, Some(5.0));
    }
}
