//! The evaluator: a parsed target and a request's time range in, series out.
//!
//! It walks the tree the way graphite-web's `evaluateTokens` does: a path expression is
//! fetched (every matching metric, sorted by name, each remembering the expression as its
//! `pathExpression`), a call evaluates its arguments left to right, binds them to the
//! function's declared parameters ([`crate::registry::Args::bind`]) and runs it; literals are
//! Python scalars. `seriesByTag(...)` is resolved through the source's tag index and keeps
//! its call text as the path expression. Functions that need data from another time range
//! (`timeShift`, the `moving*` family's look-back window) evaluate their raw argument again
//! through [`Ctx::with_range`].

use std::cell::Cell;

use jiff::tz::TimeZone;

use crate::ast::{Expr, ExprKind};
use crate::error::EvalError;
use crate::registry::{Args, lookup};
use crate::series::Series;
use crate::source::Source;
use crate::value::Value;

/// Limits one request may not exceed.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Series fetched from storage, over all targets.
    pub max_series: usize,
    /// Values fetched from storage or made by functions whose output does not depend on
    /// their input's size (`summarize`, `hitcount`, `timeFunction`, ...), over all targets.
    pub max_points: usize,
    /// Wall time one request may evaluate for.
    pub max_time: std::time::Duration,
}

impl std::default::Default for Limits {
    fn default() -> Limits {
        Limits {
            max_series: 100_000,
            max_points: 100_000_000,
            max_time: std::time::Duration::from_secs(60),
        }
    }
}

/// What one render request evaluates against.
pub struct Request<'a> {
    /// Storage.
    pub source: &'a dyn Source,
    /// Start of the range (exclusive, as whisper reads it).
    pub from: i64,
    /// End of the range.
    pub until: i64,
    /// The reference time (`now=`).
    pub now: i64,
    /// The request's time zone (`tz=`).
    pub tz: TimeZone,
    /// `xFilesFactor=` (graphite-web's DEFAULT_XFILES_FACTOR is 0).
    pub x_files_factor: f64,
    /// `template[name]=value` pairs in request order.
    pub templates: Vec<(String, String)>,
    /// Limits.
    pub limits: Limits,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("from", &self.from)
            .field("until", &self.until)
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

/// Per-request bookkeeping shared by every context of the request.
struct State {
    series: Cell<usize>,
    points: Cell<usize>,
    /// When evaluation must have finished (`Limits::max_time`).
    deadline: std::time::Instant,
    /// graphite-web keeps the xFilesFactor in its request context and `setXFilesFactor`
    /// overwrites it there, so whatever runs after it in the request (an enclosing
    /// `sumSeries`, a later fetch, a later target) defaults to the new value.
    x_files_factor: Cell<f64>,
}

impl State {
    fn new(req: &Request<'_>) -> State {
        let now = std::time::Instant::now();
        State {
            series: Cell::new(0),
            points: Cell::new(0),
            deadline: now.checked_add(req.limits.max_time).unwrap_or(now),
            x_files_factor: Cell::new(req.x_files_factor),
        }
    }
}

/// The context a function runs in: the request, the target's text, and the time range
/// (which `timeShift` and friends move).
pub struct Ctx<'a> {
    req: &'a Request<'a>,
    state: &'a State,
    text: &'a str,
    /// Start of the range this evaluation reads.
    pub from: i64,
    /// End of the range this evaluation reads.
    pub until: i64,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("from", &self.from)
            .field("until", &self.until)
            .finish_non_exhaustive()
    }
}

/// Evaluates every target of a request in order and concatenates the results, as
/// graphite-web's `evaluateTarget` does. Blank targets are skipped.
pub fn evaluate_targets(req: &Request<'_>, targets: &[String]) -> Result<Vec<Series>, EvalError> {
    let state = State::new(req);
    let mut out = Vec::new();
    for target in targets {
        if target.trim().is_empty() {
            continue;
        }
        let parsed = crate::parser::parse_target(target)?;
        let expr = crate::template::expand_templates(parsed.expr(), &req.templates)?;
        let ctx = Ctx {
            req,
            state: &state,
            text: parsed.source(),
            from: req.from,
            until: req.until,
        };
        match ctx.eval(&expr)? {
            Value::Series(s) => out.extend(s),
            Value::None => {}
            other => return Err(EvalError::NotSeries(other.py_repr())),
        }
    }
    Ok(out)
}

impl<'a> Ctx<'a> {
    /// The request's reference time.
    pub fn now(&self) -> i64 {
        self.req.now
    }

    /// The request's time zone.
    pub fn tz(&self) -> &TimeZone {
        &self.req.tz
    }

    /// The request's current `xFilesFactor`: `xFilesFactor=`, or what `setXFilesFactor`
    /// last set in this request.
    pub fn x_files_factor(&self) -> f64 {
        self.state.x_files_factor.get()
    }

    /// Sets the request's `xFilesFactor` for everything evaluated after this point.
    pub fn set_x_files_factor(&self, xff: f64) {
        self.state.x_files_factor.set(xff);
    }

    /// The request's original range (before any shift).
    pub fn request_range(&self) -> (i64, i64) {
        (self.req.from, self.req.until)
    }

    /// The request's limits.
    pub fn limits(&self) -> Limits {
        self.req.limits
    }

    /// Counts `values` that `function` is about to make, before it allocates them, against
    /// the request's limit on values (shared with what storage returned), and checks the
    /// request's time budget: one request must not hold a core and gigabytes
    /// (`summarize(x, '1s')` over five years would make 157 million values).
    pub fn produce(&self, function: &str, values: usize) -> Result<(), EvalError> {
        let limits = self.req.limits;
        let total = self.state.points.get().saturating_add(values);
        if total > limits.max_points {
            return Err(EvalError::Limit(format!(
                "{function} would make {values} values, past the request's limit of {} (limit --max-points-per-request)",
                limits.max_points
            )));
        }
        self.state.points.set(total);
        self.check_time()
    }

    /// Refuses once the request has run past its time budget.
    fn check_time(&self) -> Result<(), EvalError> {
        if std::time::Instant::now() > self.state.deadline {
            return Err(EvalError::Limit(format!(
                "the request ran longer than {} s (limit --max-render-seconds)",
                self.req.limits.max_time.as_secs_f64()
            )));
        }
        Ok(())
    }

    /// The source, for functions that look things up themselves.
    pub fn source(&self) -> &dyn Source {
        self.req.source
    }

    /// The same request over another range.
    pub fn with_range(&self, from: i64, until: i64) -> Ctx<'a> {
        Ctx {
            req: self.req,
            state: self.state,
            text: self.text,
            from,
            until,
        }
    }

    /// The target text an expression was parsed from.
    pub fn text(&self, expr: &Expr) -> &str {
        self.text.get(expr.span.start..expr.span.end).unwrap_or("")
    }

    /// Evaluates an expression.
    pub fn eval(&self, expr: &Expr) -> Result<Value, EvalError> {
        Ok(match &expr.kind {
            ExprKind::Path(p) => Value::Series(self.fetch(p)?),
            ExprKind::Call(call) => {
                if call.name == "seriesByTag" {
                    let raw = self
                        .text
                        .get(call.span.start..call.span.end)
                        .unwrap_or(&call.name)
                        .to_owned();
                    let mut exprs = Vec::new();
                    for a in &call.args {
                        match &a.kind {
                            ExprKind::Str { value, .. } => exprs.push(value.clone()),
                            _ => {
                                return Err(EvalError::function(
                                    "seriesByTag",
                                    "all arguments must be quoted tag expressions",
                                ));
                            }
                        }
                    }
                    return Ok(Value::Series(self.fetch_tagged(&raw, &exprs)?));
                }
                let def = lookup(&call.name).ok_or_else(|| EvalError::UnknownFunction {
                    name: call.name.clone(),
                    offset: call.span.start,
                })?;
                let mut positional = Vec::with_capacity(call.args.len());
                for a in &call.args {
                    positional.push(self.eval(a)?);
                }
                let mut keywords = Vec::with_capacity(call.kwargs.len());
                for k in &call.kwargs {
                    keywords.push((k.name.clone(), self.eval(&k.value)?));
                }
                let mut args = Args::bind(def, positional, keywords, call.args.clone())?;
                let out = (def.run)(self, &mut args)?;
                self.check_time()?;
                Value::Series(out)
            }
            ExprKind::Template(t) => {
                // Templates are expanded before evaluation; one left here had no bindings.
                return self.eval(&t.inner);
            }
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Float(f) => Value::Float(*f),
            ExprKind::Str { value, .. } => Value::Str(value.clone()),
            ExprKind::None => Value::None,
            ExprKind::Inf => Value::Float(f64::INFINITY),
        })
    }

    /// Evaluates an expression that must give series.
    pub fn eval_series(&self, expr: &Expr) -> Result<Vec<Series>, EvalError> {
        match self.eval(expr)? {
            Value::Series(s) => Ok(s),
            other => Err(EvalError::NotSeries(other.py_repr())),
        }
    }

    /// Every metric `pattern` matches over this context's range, sorted by name, each with
    /// `pattern` as its path expression. Not memoised: a pattern repeated in one request is
    /// read again, which costs less than copying every result in case it is repeated.
    pub fn fetch(&self, pattern: &str) -> Result<Vec<Series>, EvalError> {
        let mut leaves: Vec<String> = self
            .req
            .source
            .find(pattern)?
            .into_iter()
            .filter(|n| n.is_leaf)
            .map(|n| n.path)
            .collect();
        leaves.sort();
        leaves.dedup();
        self.fetch_paths(&leaves, pattern)
    }

    fn fetch_tagged(&self, raw: &str, exprs: &[String]) -> Result<Vec<Series>, EvalError> {
        let mut names = self.req.source.find_tagged(exprs)?;
        names.sort();
        names.dedup();
        self.fetch_paths(&names, raw)
    }

    fn fetch_paths(&self, paths: &[String], expression: &str) -> Result<Vec<Series>, EvalError> {
        let limits = self.req.limits;
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let n = self.state.series.get() + 1;
            if n > limits.max_series {
                return Err(EvalError::Limit(format!(
                    "the request reads more than {} series (limit --max-series-per-request)",
                    limits.max_series
                )));
            }
            self.state.series.set(n);
            self.check_time()?;
            let Some(f) = self
                .req
                .source
                .fetch(path, self.from, self.until, self.req.now)?
            else {
                continue;
            };
            let points = self.state.points.get() + f.values.len();
            if points > limits.max_points {
                return Err(EvalError::Limit(format!(
                    "the request reads more than {} values (limit --max-points-per-request)",
                    limits.max_points
                )));
            }
            self.state.points.set(points);
            out.push(Series::fetched(
                path.clone(),
                expression.to_owned(),
                f.start,
                f.end,
                f.step,
                f.values,
                self.x_files_factor(),
            ));
        }
        Ok(out)
    }
}
