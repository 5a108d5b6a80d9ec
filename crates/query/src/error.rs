//! Why a target cannot be evaluated. Every variant is the caller's fault (HTTP 400) except
//! [`EvalError::Source`], which is storage's (HTTP 500).

use crate::source::SourceError;

/// An evaluation failure, with graphite-web's wording where it has one.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The target does not parse.
    #[error("{0}")]
    Parse(#[from] crate::parser::ParseError),
    /// A template variable cannot be substituted.
    #[error("{0}")]
    Template(#[from] crate::template::TemplateError),
    /// No function has that name.
    #[error("Received request for unknown function: {name} (at byte {offset})")]
    UnknownFunction {
        /// The name called.
        name: String,
        /// Where the call starts in the target.
        offset: usize,
    },
    /// A value has the wrong type.
    #[error(
        "Invalid \"{ty}\" value specified for function \"{function}\" parameter \"{param}\": {value}"
    )]
    InvalidArgument {
        /// The function.
        function: String,
        /// The parameter.
        param: String,
        /// Its type's name.
        ty: &'static str,
        /// `repr` of the value given.
        value: String,
    },
    /// A value is not one of the parameter's options.
    #[error("Invalid option specified for function \"{function}\" parameter \"{param}\": {value}")]
    InvalidOption {
        /// The function.
        function: String,
        /// The parameter.
        param: String,
        /// `repr` of the value given.
        value: String,
    },
    /// A required parameter is missing.
    #[error("Missing required parameter \"{param}\" for function \"{function}\"")]
    MissingArgument {
        /// The function.
        function: String,
        /// The parameter.
        param: String,
    },
    /// More arguments than parameters.
    #[error("Too many parameters specified for function \"{function}\"")]
    TooManyArguments {
        /// The function.
        function: String,
    },
    /// Keyword arguments that name no (remaining) parameter.
    #[error("Unexpected key word arguments for function \"{function}\": {keys}")]
    UnexpectedKeywords {
        /// The function.
        function: String,
        /// The keywords, comma-separated.
        keys: String,
    },
    /// The function refused its arguments.
    #[error("{function}: {message}")]
    Function {
        /// The function.
        function: String,
        /// What is wrong.
        message: String,
    },
    /// A path expression cannot be used.
    #[error("invalid path expression: {0}")]
    Pattern(String),
    /// A request limit was reached.
    #[error("{0}")]
    Limit(String),
    /// A value given where a series list was needed (or the other way round) at the top
    /// level.
    #[error("target does not evaluate to a series list: {0}")]
    NotSeries(String),
    /// The source refused (a bad or too broad pattern) or failed (storage).
    #[error("{0}")]
    Source(#[from] SourceError),
}

impl EvalError {
    /// Whether the request was at fault (HTTP 4xx) rather than the server.
    pub fn is_client_error(&self) -> bool {
        match self {
            EvalError::Source(e) => e.is_client_error(),
            _ => true,
        }
    }

    /// A function-level refusal.
    pub fn function(function: &str, message: impl Into<String>) -> EvalError {
        EvalError::Function {
            function: function.into(),
            message: message.into(),
        }
    }
}
