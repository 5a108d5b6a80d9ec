//! The Calculate group.

use crate::registry::FunctionDef;

/// Declarations.
pub(crate) const FUNCTIONS: &[FunctionDef] = &[];
