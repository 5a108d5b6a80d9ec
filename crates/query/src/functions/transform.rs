//! The Transform group: functions that change each series' values one by one.

use crate::error::EvalError;
use crate::eval::Ctx;
use crate::registry::{Args, FunctionDef, Param, ParamType as T};
use crate::series::Series;

use super::common::{g, map_values};

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[FunctionDef {
    name: "scale",
    group: "Transform",
    params: &[
        Param::req("seriesList", T::SeriesList),
        Param::req("factor", T::Float),
    ],
    aggregator: false,
    summary: "Multiplies every value by a constant.",
    run: scale,
}];

fn scale(_ctx: &Ctx<'_>, a: &mut Args) -> Result<Vec<Series>, EvalError> {
    let factor = a.float(1);
    let mut list = a.series(0);
    for s in &mut list {
        s.tags.set("scale", super::common::repr(factor));
        s.rename(format!("scale({},{})", s.name, g(factor)));
        s.path_expression = s.name.clone();
        map_values(&mut s.values, |v| v * factor);
    }
    Ok(list)
}
