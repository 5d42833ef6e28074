//! What the gate asks of a build API: which build (and whether its id can be one), a
//! normalised build snapshot, and log windows where the API has them.

mod json;
pub mod pipecat;
pub mod prime;

pub use json::parse_rfc3339;

use crate::clock::Reading;
pub use crate::history::History;
use crate::http::{Deadline, FetchError};
use crate::logs::LogWindow;

/// Which API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderKind {
    Pipecat,
    Prime,
}

impl ProviderKind {
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::Pipecat => "pipecat",
            ProviderKind::Prime => "prime",
        }
    }

    pub fn default_url(self) -> &'static str {
        match self {
            ProviderKind::Pipecat => "https://api.pipecat.daily.co/v1",
            ProviderKind::Prime => "https://api.primeintellect.ai",
        }
    }

    /// The URLs the gate would request from `base` for `target`, for the dry run.
    pub fn planned_urls(self, base: &reqwest::Url, target: &Target) -> Vec<String> {
        match self {
            ProviderKind::Pipecat => pipecat::planned_urls(base, target),
            ProviderKind::Prime => prime::planned_urls(base, target),
        }
    }

    /// Checks a build id before any request: Pipecat's are UUIDs; Prime's must be one path
    /// segment (no `/`, not `.` or `..`, no control characters).
    pub fn check_id(self, id: &str) -> Result<(), String> {
        if id.chars().any(char::is_control) {
            return Err(format!("{id:?} contains control characters"));
        }
        match self {
            ProviderKind::Pipecat if !is_uuid(id) => Err(format!(
                "{id:?} is not a Pipecat build id; expected a UUID like 123e4567-e89b-12d3-a456-426614174000"
            )),
            ProviderKind::Prime if id.contains('/') || id == "." || id == ".." => {
                Err(format!("{id:?} is not a Prime build id: it must be one path segment (no `/`, not `.` or `..`)"))
            }
            _ => Ok(()),
        }
    }
}

/// Which build to wait on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    BuildId(String),
    /// Pipecat only: the newest build with this context hash, waiting for it to appear.
    ContextHash {
        hash: String,
        region: Option<String>,
        /// Only builds with this `dockerfilePath`: one context can build several Dockerfiles.
        dockerfile: Option<String>,
    },
}

impl Target {
    /// `context hash H in region R of Dockerfile D`, for a search (else `None`).
    pub fn search_words(&self) -> Option<String> {
        let Target::ContextHash { hash, region, dockerfile } = self else { return None };
        Some(format!(
            "context hash {hash}{}{}",
            region.as_ref().map(|r| format!(" in region {r}")).unwrap_or_default(),
            dockerfile.as_ref().map(|d| format!(" of Dockerfile {d}")).unwrap_or_default()
        ))
    }
}

/// A UUID in its canonical 8-4-4-4-12 hexadecimal form, any case.
pub fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Where a build stands, whatever the API calls it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuildState {
    /// Accepted, not started: no logs yet.
    Pending,
    Running,
    /// A status string the gate does not know: treated as still in progress.
    Unknown,
    Succeeded,
    Failed,
    /// Timed out on the provider's side.
    TimedOut,
    Cancelled,
}

impl BuildState {
    pub fn is_terminal(self) -> bool {
        matches!(self, BuildState::Succeeded | BuildState::Failed | BuildState::TimedOut | BuildState::Cancelled)
    }
}

/// The image a successful build made, and which field it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub uri: String,
    pub source: &'static str,
}

/// A part of a build with a status of its own (a Prime artifact).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// `artifact VM_SANDBOX`, with its position when the kind repeats.
    pub name: String,
    pub kind: String,
    pub status: String,
    pub image: Option<String>,
}

/// One reading of a build, normalised across providers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub id: String,
    pub state: BuildState,
    /// The status string exactly as the API reported it.
    pub provider_status: String,
    /// A few words on what the status means, when the API's name says little (`UPLOADING`).
    pub phase: Option<&'static str>,
    /// On success: the image, or what the answer lacks to name one.
    pub image: Result<Image, &'static str>,
    pub duration_secs: Option<u64>,
    pub logs_url: Option<String>,
    pub error_message: Option<String>,
    pub parts: Vec<Part>,
    pub timing: Timing,
}

/// When the build started, and what the answer told of the server's clock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// `startedAt`, in ms since the Unix epoch on the server's clock.
    pub started_at_ms: Option<i64>,
    pub clock: Option<Reading>,
    /// What earlier builds must share to say how long this one takes (Pipecat).
    pub like: Option<Like>,
}

/// Which earlier builds are like this one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Like {
    pub region: Option<String>,
    pub dockerfile_path: Option<String>,
}

/// A build found by its context hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub id: String,
    pub created_at: String,
    pub matched: usize,
}

/// A build API. Every request ends by its [`Deadline`].
// Used only inside this crate, on a current-thread runtime: the futures need not be `Send`.
#[allow(async_fn_in_trait)]
pub trait Provider {
    async fn snapshot(&self, id: &str, deadline: Deadline) -> Result<Snapshot, FetchError>;

    /// The latest `limit` log entries (a sliding tail; an entry may hold several lines);
    /// `None` when the API has no logs.
    async fn log_window(&self, id: &str, limit: usize, deadline: Deadline) -> Option<Result<LogWindow, FetchError>>;

    /// The newest build with this context hash (in `region`, of `dockerfile`), if one exists
    /// yet; each page is one request.
    async fn find_by_context_hash(
        &self,
        hash: &str,
        filters: (Option<&str>, Option<&str>),
        deadline: Deadline,
    ) -> Result<Option<Found>, FetchError>;

    /// The durations of recent successful builds like this one (one request); `None` when the
    /// API has no list of builds.
    async fn history(&self, like: &Like, deadline: Deadline) -> Option<Result<History, FetchError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_per_provider() {
        assert!(ProviderKind::Pipecat.check_id("123e4567-e89b-12d3-a456-426614174000").is_ok());
        assert!(ProviderKind::Pipecat.check_id("bld_1").unwrap_err().contains("UUID"));
        assert!(ProviderKind::Prime.check_id("bld_7f3a").is_ok());
        assert!(ProviderKind::Prime.check_id("a b%c").is_ok(), "encoded as a path segment");
        for bad in [".", "..", "a/b", "x\u{7}"] {
            assert!(ProviderKind::Prime.check_id(bad).is_err(), "{bad:?}");
        }
        assert!(!is_uuid("123e4567e89b12d3a456426614174000"));
    }
}
