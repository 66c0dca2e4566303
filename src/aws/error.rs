//! One vocabulary for AWS failures: transient ones fail the invocation so Lambda
//! retries it; permanent ones are reported and acknowledged.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed ({code}): {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
    pub transient: bool,
}

/// Error codes that mean "try again later" across SES, Route 53, Scheduler and EventBridge.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "PriorRequestNotComplete",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServerException",
    "InternalError",
    "RequestTimeout",
    "RequestTimeoutException",
];

impl AwsError {
    pub fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        match &err {
            SdkError::TimeoutError(_)
            | SdkError::DispatchFailure(_)
            | SdkError::ResponseError(_) => Self {
                operation,
                code: "NetworkError".into(),
                message: error_chain(&err),
                transient: true,
            },
            _ => {
                let code = err.code().unwrap_or("Unknown").to_owned();
                let message = err
                    .message()
                    .map(str::to_owned)
                    .unwrap_or_else(|| error_chain(&err));
                let transient = TRANSIENT_CODES.contains(&code.as_str())
                    || status.is_some_and(|s| s == 429 || s >= 500);
                Self {
                    operation,
                    code,
                    message,
                    transient,
                }
            }
        }
    }

    /// A response AWS should never send (wrong shape); retrying is the safe answer.
    pub fn unexpected(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            operation,
            code: "UnexpectedResponse".into(),
            message: message.into(),
            transient: true,
        }
    }

    /// A request the SDK refused to build: a bug here, not worth a retry.
    pub fn invalid_input(operation: &'static str, err: impl std::fmt::Display) -> Self {
        Self {
            operation,
            code: "InvalidInput".into(),
            message: err.to_string(),
            transient: false,
        }
    }

    pub fn is_code(&self, code: &str) -> bool {
        self.code == code
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}
