//! The table of the gate's variables: what each means and its default, for parsing, for the
//! `--help` page, and for telling a typo from a name of the gate's own.

use std::fmt::Write as _;

use crate::provider::ProviderKind;

/// One variable the gate reads.
pub struct Var {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// Every variable the gate reads, in the order the help page lists them.
pub const VARS: &[Var] = &[
    Var { name: "BUILDGATE_PROVIDER", default: "pipecat", meaning: "`pipecat` or `prime`" },
    Var { name: "BUILDGATE_BUILD_ID", default: "", meaning: "the build to wait on (Pipecat: a UUID)" },
    Var {
        name: "BUILDGATE_CONTEXT_HASH",
        default: "",
        meaning: "pipecat only: wait on the newest build with this context hash, waiting for it to appear",
    },
    Var {
        name: "BUILDGATE_REGION",
        default: "",
        meaning: "pipecat only, with a context hash: only builds in this region",
    },
    Var {
        name: "BUILDGATE_DOCKERFILE",
        default: "",
        meaning: "pipecat only, with a context hash: only builds of this Dockerfile (their `dockerfilePath`)",
    },
    Var {
        name: "BUILDGATE_API_KEY",
        default: "",
        meaning: "bearer token (required); when unset, PIPECAT_API_KEY (pipecat) or PRIME_API_KEY (prime)",
    },
    Var {
        name: "BUILDGATE_API_URL",
        default: "https://api.pipecat.daily.co/v1 | https://api.primeintellect.ai",
        meaning: "base URL; http:// only for loopback hosts",
    },
    Var {
        name: "BUILDGATE_TIMEOUT",
        default: "30m",
        meaning: "overall deadline: 500ms, 1.5m, 90s, 1h30m or a bare number of seconds (every duration takes this form)",
    },
    Var { name: "BUILDGATE_POLL_INTERVAL", default: "2s", meaning: "first wait between polls" },
    Var { name: "BUILDGATE_POLL_MAX_INTERVAL", default: "10s", meaning: "cap of the exponential backoff" },
    Var { name: "BUILDGATE_REQUEST_TIMEOUT", default: "30s", meaning: "one HTTP request" },
    Var { name: "BUILDGATE_LOGS", default: "true (pipecat)", meaning: "stream build logs (true/false)" },
    Var {
        name: "BUILDGATE_LOG_INTERVAL",
        default: "60s",
        meaning: "the longest wait between two reads of the build log",
    },
    Var {
        name: "BUILDGATE_MAX_LOG_LINES",
        default: "25000",
        meaning: "stop streaming build log lines after this many",
    },
    Var {
        name: "BUILDGATE_FORMAT",
        default: "auto",
        meaning: "auto, github, gitlab or plain (auto: github when GITHUB_ACTIONS=true, gitlab when GITLAB_CI=true)",
    },
    Var {
        name: "BUILDGATE_OUTPUT_FILE",
        default: "$GITHUB_OUTPUT | buildgate.env | none",
        meaning: "where outputs are written (github | gitlab | plain: printed)",
    },
    Var {
        name: "BUILDGATE_DRY_RUN",
        default: "false",
        meaning: "true: validate, print the plan with the key redacted, make no request",
    },
    Var {
        name: "BUILDGATE_DEMO",
        default: "",
        meaning: "success or failed: serve a scripted build on loopback and wait on it, as a real run would (no account, no network)",
    },
    Var {
        name: "BUILDGATE_LOG_LEVEL",
        default: "warn",
        meaning: "diagnostics on stderr: error ... trace (RUST_LOG also works)",
    },
];

/// The variable that holds the key when `BUILDGATE_API_KEY` is unset.
pub fn key_variable(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Pipecat => "PIPECAT_API_KEY",
        ProviderKind::Prime => "PRIME_API_KEY",
    }
}

/// `BUILDGATE_*` names set by the project itself, not read as settings: the GitLab template's
/// image selector, and the dotenv report's output keys, which later jobs inherit.
pub const OWN_NAMES: &[&str] = &[
    "BUILDGATE_IMAGE",
    "BUILDGATE_STATUS",
    "BUILDGATE_PROVIDER_STATUS",
    "BUILDGATE_IMAGE_URI",
    "BUILDGATE_DURATION",
    "BUILDGATE_LOGS_URL",
    "BUILDGATE_ERROR_MESSAGE",
    "BUILDGATE_WAITED",
];

/// The table's default for `name`; every variable parsed has a row.
pub fn default_of(name: &str) -> &'static str {
    VARS.iter().find(|v| v.name == name).map_or("", |v| v.default)
}

/// A warning for a `BUILDGATE_*` name the gate does not know, naming the closest one it does.
pub fn unknown_name_warning(name: &str) -> Option<String> {
    if !name.starts_with("BUILDGATE_") || VARS.iter().any(|v| v.name == name) || OWN_NAMES.contains(&name) {
        return None;
    }
    let closest = VARS.iter().map(|v| v.name).min_by_key(|known| edit_distance(name, known)).expect("a table");
    Some(format!("{name} is not a buildgate variable and is ignored; did you mean {closest}?"))
}

/// Levenshtein distance over bytes (the names are ASCII).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The `--help` page: what the gate does, every variable with its default, the exit codes.
pub fn help_page() -> String {
    let mut page = format!(
        "buildgate {}: wait on a cloud image build (Pipecat Cloud or Prime Intellect) from CI, stream its\n\
         log, write its outputs, and exit with a code that says what happened.\n\n\
         Usage: buildgate            (configured by environment variables; an empty value counts as unset)\n       \
         buildgate --help | -h   this page\n       buildgate --version | -V\n\nVariables (default):\n",
        env!("CARGO_PKG_VERSION")
    );
    let width = VARS.iter().map(|v| v.name.len()).max().unwrap_or(0);
    for var in VARS {
        let default = if var.default.is_empty() { String::new() } else { format!(" (default: {})", var.default) };
        let _ = writeln!(page, "  {:<width$}  {}{default}", var.name, var.meaning);
    }
    page.push_str(
        "\nExit codes:\n  0    the build succeeded\n  1    the build failed, timed out on the provider's side, or \
         was cancelled\n  2    invalid configuration (the message names the variable), or an outputs file that \
         cannot be written\n  3    the API refused (401/403/404/400/422, a redirect to another host, a certificate \
         that fails\n       verification) or its answer cannot be read\n  124  the deadline passed while the build \
         was still running (it may still finish on the server)\n  130 / 143 / 129  interrupted by SIGINT / \
         SIGTERM / SIGHUP\n",
    );
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_get_the_closest_name_and_own_names_no_warning() {
        assert_eq!(
            unknown_name_warning("BUILDGATE_TIMEOUTT").as_deref(),
            Some("BUILDGATE_TIMEOUTT is not a buildgate variable and is ignored; did you mean BUILDGATE_TIMEOUT?")
        );
        assert!(unknown_name_warning("BUILDGATE_POLL_INTERVALL").unwrap().ends_with("BUILDGATE_POLL_INTERVAL?"));
        assert!(unknown_name_warning("BUILDGATE_BUILDID").unwrap().ends_with("BUILDGATE_BUILD_ID?"));
        for fine in ["BUILDGATE_TIMEOUT", "BUILDGATE_IMAGE", "BUILDGATE_IMAGE_URI", "PATH", "GITHUB_OUTPUT"] {
            assert_eq!(unknown_name_warning(fine), None, "{fine}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn the_help_page() {
        insta::assert_snapshot!(help_page().replace(env!("CARGO_PKG_VERSION"), "<version>"));
    }
}
