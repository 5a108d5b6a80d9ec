//! An evaluated argument: a series list or a Python scalar.

use charcoal_pyfmt::repr as float_repr;

use crate::series::Series;

/// What an argument evaluates to (graphite-web's evaluator yields lists of `TimeSeries`,
/// `int`, `float`, `str`, `bool` or `None`).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A series list (what a path expression or a function call gives).
    Series(Vec<Series>),
    /// A Python `int`.
    Int(i64),
    /// A Python `float`.
    Float(f64),
    /// A Python `str`.
    Str(String),
    /// A Python `bool`.
    Bool(bool),
    /// `None`.
    None,
}

impl Value {
    /// Python's `str(value)`.
    pub fn py_str(&self) -> String {
        match self {
            Value::Series(s) => format!("<{} series>", s.len()),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_repr(*f),
            Value::Str(s) => s.clone(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::None => "None".into(),
        }
    }

    /// Python's `repr(value)` (strings single-quoted).
    pub fn py_repr(&self) -> String {
        match self {
            Value::Str(s) => py_str_repr(s),
            other => other.py_str(),
        }
    }

    /// The number, for an `int`, `float` or `bool`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    /// The integer, for an `int` or `bool` (or a float with an integral value).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            _ => None,
        }
    }

    /// Python's `float(value)`.
    pub fn py_float(&self) -> Option<f64> {
        match self {
            Value::Str(s) => charcoal_protocol::pynum::parse_float(s),
            other => other.as_f64(),
        }
    }

    /// graphite-web's integer check: `int(value)`, refusing floats.
    pub fn py_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Python truthiness.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Series(s) => !s.is_empty(),
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Bool(b) => *b,
            Value::None => false,
        }
    }
}

/// Python's `repr` of a string.
pub fn py_str_repr(s: &str) -> String {
    charcoal_pyfmt::str_repr(s)
}
