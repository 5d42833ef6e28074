//! The configuration's rules, one test per rule.

use super::values::boolean;
use super::*;

const ID: &str = "123e4567-e89b-12d3-a456-426614174000";

fn load_pairs(pairs: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    load(&Env::from_pairs(pairs.iter().copied()))
}

fn errors(pairs: &[(&str, &str)]) -> Vec<String> {
    errors_of(load_pairs(pairs))
}

fn errors_of(loaded: Result<Config, ConfigErrors>) -> Vec<String> {
    loaded.unwrap_err().0.into_iter().map(|e| e.to_string()).collect()
}

#[test]
fn defaults_apply_when_only_id_and_key_are_set() {
    let c = load_pairs(&[("BUILDGATE_BUILD_ID", ID), ("PIPECAT_API_KEY", "k")]).unwrap();
    assert_eq!(c.provider, ProviderKind::Pipecat);
    assert_eq!(c.api_url.as_str(), "https://api.pipecat.daily.co/v1");
    assert_eq!(c.timeout, Duration::from_secs(1800));
    assert_eq!(c.poll_interval, Duration::from_secs(2));
    assert_eq!(c.poll_max_interval, Duration::from_secs(10));
    assert_eq!(c.request_timeout, Duration::from_secs(30));
    assert!(c.logs);
    assert_eq!(c.format, Format::Plain);
    assert_eq!(c.api_key_source, "PIPECAT_API_KEY");
    assert!(c.outputs.is_none());
    assert!(!c.dry_run);
}

#[test]
fn empty_values_count_as_unset() {
    let c = load_pairs(&[
        ("BUILDGATE_BUILD_ID", ID),
        ("BUILDGATE_CONTEXT_HASH", ""),
        ("BUILDGATE_API_KEY", ""),
        ("PIPECAT_API_KEY", "k"),
        ("BUILDGATE_TIMEOUT", ""),
        ("BUILDGATE_FORMAT", " "),
    ])
    .unwrap();
    assert_eq!(c.timeout, Duration::from_secs(1800));
    assert_eq!(c.api_key.expose(), "k");
}

#[test]
fn every_error_names_its_variable_and_the_bad_value() {
    let errs = errors(&[
        ("BUILDGATE_BUILD_ID", "not-a-uuid"),
        ("BUILDGATE_API_KEY", "k"),
        ("BUILDGATE_TIMEOUT", "soon"),
        ("BUILDGATE_LOGS", "maybe"),
        ("BUILDGATE_FORMAT", "jenkins"),
        ("BUILDGATE_PROVIDER", "aws"),
        ("BUILDGATE_LOG_LEVEL", "loud"),
        ("BUILDGATE_DRY_RUN", "perhaps"),
    ]);
    for (var, value) in [
        ("BUILDGATE_TIMEOUT", "soon"),
        ("BUILDGATE_LOGS", "maybe"),
        ("BUILDGATE_FORMAT", "jenkins"),
        ("BUILDGATE_PROVIDER", "aws"),
        ("BUILDGATE_LOG_LEVEL", "loud"),
        ("BUILDGATE_DRY_RUN", "perhaps"),
        ("BUILDGATE_BUILD_ID", "not-a-uuid"),
    ] {
        assert!(errs.iter().any(|e| e.starts_with(var) && e.contains(value)), "{var} missing in {errs:?}");
    }
}

#[test]
fn exactly_one_target_is_required() {
    assert!(errors(&[("PIPECAT_API_KEY", "k")])[0].starts_with("BUILDGATE_BUILD_ID: no build"));
    let both = errors(&[("PIPECAT_API_KEY", "k"), ("BUILDGATE_BUILD_ID", ID), ("BUILDGATE_CONTEXT_HASH", "abc")]);
    assert!(both[0].contains("set exactly one"));
    let c =
        load_pairs(&[("PIPECAT_API_KEY", "k"), ("BUILDGATE_CONTEXT_HASH", "abc"), ("BUILDGATE_REGION", "eu")]).unwrap();
    assert_eq!(c.target, Target::ContextHash { hash: "abc".into(), region: Some("eu".into()), dockerfile: None });
}

#[test]
fn http_is_only_for_loopback() {
    for ok in [
        "http://127.0.0.1:8080/v1",
        "http://127.0.0.2",
        "http://localhost:1",
        "http://[::1]:9/v1",
        "https://example.com/v1",
    ] {
        assert!(api_url(ok).is_ok(), "{ok}");
    }
    for bad in ["http://example.com", "http://10.0.0.1", "ftp://127.0.0.1", "https://example.com/v1?x=1", "nope"] {
        assert!(api_url(bad).unwrap_err().message.contains(bad.trim_end_matches('/')), "{bad}");
    }
    let with_credentials = api_url("https://user:hunter2@example.com").unwrap_err().message;
    assert!(with_credentials.contains("credentials") && !with_credentials.contains("hunter2"));
}

#[test]
fn the_key_falls_back_per_provider_and_is_never_shown() {
    let c =
        load_pairs(&[("BUILDGATE_PROVIDER", "prime"), ("BUILDGATE_BUILD_ID", "b1"), ("PRIME_API_KEY", "secret-key")])
            .unwrap();
    assert_eq!(c.api_key_source, "PRIME_API_KEY");
    assert_eq!(c.api_url.as_str(), "https://api.primeintellect.ai/");
    assert!(!c.logs);
    let debug = format!("{c:?}");
    assert!(!debug.contains("secret-key") && debug.contains("*** (10 characters)"), "{debug}");
    let missing = errors(&[("BUILDGATE_PROVIDER", "prime"), ("BUILDGATE_BUILD_ID", "b1"), ("PIPECAT_API_KEY", "k")]);
    assert!(missing[0].contains("PRIME_API_KEY") && missing[0].contains("fork"), "{missing:?}");
    let bad = errors(&[("BUILDGATE_BUILD_ID", ID), ("BUILDGATE_API_KEY", "two words")]);
    assert!(bad[0].starts_with("BUILDGATE_API_KEY") && !bad[0].contains("two words"));
}

#[test]
fn prime_refuses_logs_and_context_hash() {
    let errs = errors(&[
        ("BUILDGATE_PROVIDER", "prime"),
        ("BUILDGATE_CONTEXT_HASH", "abc"),
        ("BUILDGATE_LOGS", "true"),
        ("PRIME_API_KEY", "k"),
    ]);
    assert!(errs.iter().any(|e| e.starts_with("BUILDGATE_LOGS")));
    assert!(errs.iter().any(|e| e.starts_with("BUILDGATE_CONTEXT_HASH")));
}

#[test]
fn format_is_detected_and_picks_the_outputs_file() {
    let dir = tempfile::tempdir().unwrap();
    let (out, sum) = (dir.path().join("out"), dir.path().join("sum"));
    let (out_text, sum_text) = (out.to_str().unwrap(), sum.to_str().unwrap());
    let base = [("BUILDGATE_BUILD_ID", ID), ("PIPECAT_API_KEY", "k")];
    let with = |extra: &[(&str, &str)]| {
        let mut pairs = base.to_vec();
        pairs.extend_from_slice(extra);
        load_pairs(&pairs)
    };
    let gh =
        with(&[("GITHUB_ACTIONS", "true"), ("GITHUB_OUTPUT", out_text), ("GITHUB_STEP_SUMMARY", sum_text)]).unwrap();
    assert_eq!(gh.format, Format::Github);
    let file = gh.outputs.as_ref().unwrap();
    assert_eq!((file.path(), file.variable()), (out.as_path(), "GITHUB_OUTPUT"));
    assert_eq!(gh.summary_file.as_deref(), Some(sum.as_path()));
    let gl = with(&[("GITLAB_CI", "true"), ("BUILDGATE_OUTPUT_FILE", out_text)]).unwrap();
    assert_eq!((gl.format, gl.outputs.unwrap().variable()), (Format::Gitlab, "BUILDGATE_OUTPUT_FILE"));
    let forced = with(&[("GITHUB_ACTIONS", "true"), ("BUILDGATE_FORMAT", "plain")]).unwrap();
    assert_eq!(forced.format, Format::Plain);
    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let refused = errors_of(with(&[("GITHUB_ACTIONS", "true"), ("GITHUB_OUTPUT", fifo.to_str().unwrap())]));
    assert!(refused[0].starts_with("GITHUB_OUTPUT: ") && refused[0].contains("not a regular file"), "{refused:?}");
}

#[test]
fn booleans_accept_every_documented_spelling() {
    for (v, expected) in [("TRUE", true), ("1", true), ("Yes", true), ("false", false), ("0", false), ("NO", false)] {
        assert_eq!(boolean("X", v), Ok(expected), "{v}");
    }
}

#[test]
fn max_interval_must_not_be_below_the_first() {
    let errs = errors(&[
        ("BUILDGATE_BUILD_ID", ID),
        ("PIPECAT_API_KEY", "k"),
        ("BUILDGATE_POLL_INTERVAL", "5s"),
        ("BUILDGATE_POLL_MAX_INTERVAL", "1s"),
    ]);
    assert!(errs[0].starts_with("BUILDGATE_POLL_MAX_INTERVAL"), "{errs:?}");
    // With the cap unset, its default is not what the user got wrong: the interval is named.
    let errs = errors(&[("BUILDGATE_BUILD_ID", ID), ("PIPECAT_API_KEY", "k"), ("BUILDGATE_POLL_INTERVAL", "30s")]);
    assert_eq!(
        errs,
        [
            "BUILDGATE_POLL_INTERVAL: 30s is longer than the backoff cap BUILDGATE_POLL_MAX_INTERVAL (10s, its default); \
          use at most 10s or set BUILDGATE_POLL_MAX_INTERVAL to at least 30s"
        ]
    );
}

#[test]
fn every_duration_is_bounded_and_each_error_names_its_own_variable() {
    let base = [("BUILDGATE_BUILD_ID", ID), ("PIPECAT_API_KEY", "k")];
    for variable in [
        "BUILDGATE_TIMEOUT",
        "BUILDGATE_POLL_INTERVAL",
        "BUILDGATE_POLL_MAX_INTERVAL",
        "BUILDGATE_REQUEST_TIMEOUT",
        "BUILDGATE_LOG_INTERVAL",
    ] {
        for value in ["18446744073709551615", "99999999999h", "0", "1.5x"] {
            let mut pairs = base.to_vec();
            pairs.push((variable, value));
            let errs = errors(&pairs);
            assert_eq!(errs.len(), 1, "{variable}={value}: {errs:?}");
            assert!(errs[0].starts_with(&format!("{variable}: ")), "{errs:?}");
            assert!(errs[0].contains("from 1ms to 744h"), "says what is accepted: {errs:?}");
        }
    }
    let c = load_pairs(&[("BUILDGATE_BUILD_ID", ID), ("PIPECAT_API_KEY", "k"), ("BUILDGATE_TIMEOUT", "1.5m")]).unwrap();
    assert_eq!(c.timeout, Duration::from_secs(90));
}

#[test]
fn values_that_are_not_utf8_are_refused_by_name() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let env = Env::from_os([
        (OsString::from("BUILDGATE_BUILD_ID"), OsString::from(ID)),
        (OsString::from("PIPECAT_API_KEY"), OsString::from("k")),
        (OsString::from("BUILDGATE_TIMEOUT"), OsString::from_vec(b"5m\xff".to_vec())),
    ]);
    let errs = errors_of(load(&env));
    assert_eq!(errs, ["BUILDGATE_TIMEOUT: the value is not valid UTF-8; set it to UTF-8 text"]);
}

#[test]
fn unknown_buildgate_names_are_warned_about_not_refused() {
    let c = load_pairs(&[
        ("BUILDGATE_BUILD_ID", ID),
        ("PIPECAT_API_KEY", "k"),
        ("BUILDGATE_TIMEOUTT", "5m"),
        ("BUILDGATE_IMAGE", "ghcr.io/buildgate/buildgate:1"),
        ("BUILDGATE_STATUS", "success"),
    ])
    .unwrap();
    assert_eq!(
        c.warnings,
        ["BUILDGATE_TIMEOUTT is not a buildgate variable and is ignored; did you mean BUILDGATE_TIMEOUT?"]
    );
}

#[test]
fn prime_ids_are_one_path_segment() {
    for bad in [".", "..", "a/b"] {
        let errs = errors(&[("BUILDGATE_PROVIDER", "prime"), ("BUILDGATE_BUILD_ID", bad), ("PRIME_API_KEY", "k")]);
        assert!(errs[0].starts_with("BUILDGATE_BUILD_ID: ") && errs[0].contains("one path segment"), "{errs:?}");
    }
}

#[test]
fn every_variable_of_the_table_is_parsed() {
    // A value that no variable accepts: each one is refused by name, so each one is read.
    let mut pairs: Vec<(&str, &str)> = VARS.iter().map(|v| (v.name, "\u{1}bad value\u{1}")).collect();
    // The search filters and the outputs file are refused before or instead of what they filter.
    let skipped = ["BUILDGATE_CONTEXT_HASH", "BUILDGATE_REGION", "BUILDGATE_DOCKERFILE", "BUILDGATE_OUTPUT_FILE"];
    pairs.retain(|(n, _)| !skipped.contains(n));
    let errs = errors(&pairs);
    for (name, _) in pairs {
        assert!(errs.iter().any(|e| e.starts_with(&format!("{name}: "))), "{name} not read: {errs:?}");
    }
}
