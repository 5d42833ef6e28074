//! What to check, added where the gate reports: the typical causes of a failed build
//! recognised in its log, and per refusal what it means and which variable to look at.

use crate::http::Refusal;

/// Where the key came from, for a refused token: the variable, and the one it took precedence over.
pub fn key_hint(source: &'static str, fallback: &'static str) -> String {
    if source == "BUILDGATE_API_KEY" {
        format!("BUILDGATE_API_KEY (it takes precedence over {fallback})")
    } else {
        source.to_string()
    }
}

/// A refusal in words, with what to check.
pub fn refusal_message(refusal: &Refusal, key_hint: &str) -> String {
    match refusal {
        Refusal::Status { status, detail, what } => {
            let hint = match status {
                401 => format!(
                    "the token was refused: check {key_hint} (in a pull request from a fork, repository secrets are \
                     not passed, so the key may be empty or wrong)"
                ),
                403 => format!("the token is valid but may not read {what}: check the token's organization and scopes"),
                404 => format!(
                    "{what} does not exist: check BUILDGATE_BUILD_ID, BUILDGATE_API_URL and the organization of the token"
                ),
                400 | 422 => format!("the API rejected the request for {what}"),
                _ => format!("unexpected answer for {what}"),
            };
            let detail = if detail.is_empty() { String::new() } else { format!(" — {detail}") };
            format!("HTTP {status}: {hint}{detail}")
        }
        Refusal::Redirect { status, to } => format!(
            "the API answered {status} redirecting to {to}; buildgate sends the token only to BUILDGATE_API_URL's own \
             scheme, host and port, so set BUILDGATE_API_URL to the final address"
        ),
        Refusal::Certificate { reason } => format!(
            "the API's TLS certificate failed verification ({reason}); this is not retried. If a TLS proxy or a \
             private CA signs it, point SSL_CERT_FILE (a PEM bundle) or SSL_CERT_DIR at certificates that trust it"
        ),
        Refusal::Tls { reason } => format!(
            "cannot set up TLS for BUILDGATE_API_URL ({reason}): this machine or image seems to have no CA \
             certificates; install a CA store (ca-certificates) or set SSL_CERT_FILE or SSL_CERT_DIR"
        ),
        Refusal::Unsupported(what) => (*what).to_string(),
    }
}

pub fn failure_hint(tail: &[String]) -> Option<&'static str> {
    let text = tail.join("\n").to_ascii_lowercase();
    let hints: [(&[&str], &str); 4] = [
        (
            &["no matching distribution found", "could not find a version that satisfies", "modulenotfounderror"],
            "a dependency is missing or unavailable: check requirements.txt",
        ),
        (
            &["copy failed", "failed to compute cache key", "no such file or directory"],
            "a file named in a COPY instruction is missing from the build context",
        ),
        (
            &["pip install", "pip subprocess", "error: subprocess-exited-with-error", "returned a non-zero code"],
            "a command in the Dockerfile (often pip install) failed: see the lines above",
        ),
        (
            &["dockerfile parse error", "unknown instruction", "failed to solve: dockerfile"],
            "the Dockerfile has a syntax error",
        ),
    ];
    hints.iter().find(|(needles, _)| needles.iter().any(|n| text.contains(n))).map(|(_, hint)| *hint)
}
