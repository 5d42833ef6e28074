//! End-to-end checks of the fake server over raw `std::net::TcpStream`s.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fake_api::tls::TestCerts;
use fake_api::{
    ClockSkew, Compression, DEFAULT_API_KEY, FakeApi, Fault, FaultKind, PipecatBuild, PrimeArtifact, PrimeBuild, Route,
    Scenario,
};
use serde_json::{Value, json};

const ID1: &str = "123e4567-e89b-12d3-a456-426614174001";
const ID2: &str = "123e4567-e89b-12d3-a456-426614174002";
const ID3: &str = "123e4567-e89b-12d3-a456-426614174003";
const ID4: &str = "123e4567-e89b-12d3-a456-426614174004";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A parsed response.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Sends one GET and reads until the server closes; the raw bytes, or the I/O error.
fn raw_get(api: &FakeApi, target: &str, key: Option<&str>) -> std::io::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", api.port()))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let auth = key.map_or(String::new(), |k| format!("Authorization: Bearer {k}\r\n"));
    write!(stream, "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Connection: close\r\n\r\n")?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn parse(bytes: &[u8]) -> Reply {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("complete head");
    let head = std::str::from_utf8(&bytes[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let reply = Reply { status, headers, body: bytes[end + 4..].to_vec() };
    let length: usize = reply.header("content-length").unwrap().parse().unwrap();
    assert_eq!(length, reply.body.len(), "Content-Length matches the body");
    assert_eq!(reply.header("connection"), Some("close"));
    reply
}

fn get(api: &FakeApi, target: &str) -> Reply {
    parse(&raw_get(api, target, Some(DEFAULT_API_KEY)).expect("request succeeds"))
}

/// Polls `target` until `done` holds for its JSON (bounded by 10 s); every JSON seen.
fn poll_until(api: &FakeApi, target: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    loop {
        let value = get(api, target).json();
        let finished = done(&value);
        seen.push(value);
        if finished {
            return seen;
        }
        assert!(Instant::now() < deadline, "timed out; last: {:?}", seen.last());
        std::thread::sleep(ms(5));
    }
}

#[test]
fn pipecat_timeline_progresses_on_the_build_clock() {
    let api = FakeApi::start(
        Scenario::new().pipecat(
            PipecatBuild::new(ID1)
                .step(ms(0), "pending")
                .step(ms(100), "building")
                .step(ms(300), "success")
                .image_uri("registry/img:1"),
        ),
    );
    // The clock has not started: lists show the first step, even after a while.
    std::thread::sleep(ms(350));
    let listed = get(&api, "/v1/builds").json();
    assert_eq!(listed["builds"][0]["status"], "pending");

    let started = Instant::now();
    let path = format!("/v1/builds/{ID1}");
    let seen = poll_until(&api, &path, |v| v["build"]["status"] == "success");
    let elapsed = started.elapsed();
    assert!(elapsed >= ms(300), "success only after 300 ms on its clock: {elapsed:?}");
    let statuses: Vec<&str> = seen.iter().map(|v| v["build"]["status"].as_str().unwrap()).collect();
    assert_eq!(statuses[0], "pending");
    let rank = |s: &str| ["pending", "building", "success"].iter().position(|x| *x == s);
    assert!(statuses.windows(2).all(|w| rank(w[0]) <= rank(w[1])), "{statuses:?}");
    assert!(seen[0]["build"].get("startedAt").is_none());

    let done = &seen.last().unwrap()["build"];
    assert_eq!(done["imageUri"], "registry/img:1");
    assert_eq!(done["organizationId"], "org_test");
    assert!(done["completedAt"].is_string());
    assert!(done["buildDurationSeconds"].is_i64());
    assert!(done.get("errorMessage").is_none());

    let recorded = api.requests();
    assert_eq!(recorded.len(), seen.len() + 1);
    assert_eq!(recorded[1].path, path);
    assert_eq!(recorded[1].authorization.as_deref(), Some(format!("Bearer {DEFAULT_API_KEY}").as_str()));
    assert!(recorded.windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn a_played_out_build_starts_over_for_the_next_client_after_a_pause() {
    let build = PipecatBuild::new(ID1).step(ms(0), "building").step(ms(100), "success");
    let api = FakeApi::start(Scenario::new().pipecat(build).restart_when_idle(ms(300)));
    let path = format!("/v1/builds/{ID1}");
    poll_until(&api, &path, |v| v["build"]["status"] == "success");
    assert_eq!(get(&api, &path).json()["build"]["status"], "success", "asked again at once: still over");
    std::thread::sleep(ms(400));
    assert_eq!(get(&api, &path).json()["build"]["status"], "building", "after the pause: a fresh build");
    poll_until(&api, &path, |v| v["build"]["status"] == "success");
    // Without the option, a build stays over.
    let plain = FakeApi::start(
        Scenario::new().pipecat(PipecatBuild::new(ID1).step(ms(0), "building").step(ms(100), "success")),
    );
    poll_until(&plain, &path, |v| v["build"]["status"] == "success");
    std::thread::sleep(ms(400));
    assert_eq!(get(&plain, &path).json()["build"]["status"], "success");
}

#[test]
fn logs_are_a_sliding_tail() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).logs(ms(0), ["a", "b", "c"]).log(ms(1500), "d").log(ms(1500), "e"))
            .pipecat(PipecatBuild::new(ID2).log(ms(0), "x").log_objects(true)),
    );
    let path = format!("/v1/builds/{ID1}/logs");
    assert_eq!(get(&api, &format!("{path}?limit=2")).json(), json!({"logs": ["b", "c"]}));
    assert_eq!(get(&api, &path).json(), json!({"logs": ["a", "b", "c"]}));
    poll_until(&api, &format!("{path}?limit=2"), |v| v["logs"] == json!(["d", "e"]));
    assert_eq!(get(&api, &format!("{path}?limit=4")).json(), json!({"logs": ["b", "c", "d", "e"]}));
    for bad in ["0", "10001", "x", "-1"] {
        let reply = get(&api, &format!("{path}?limit={bad}"));
        assert_eq!(reply.status, 400, "limit={bad}");
        assert_eq!(reply.json()["code"], "INVALID_PARAMETER");
    }
    let objects = get(&api, &format!("/v1/builds/{ID2}/logs")).json();
    assert_eq!(objects["logs"][0]["message"], "x");
    assert_eq!(objects["logs"][0]["timestamp"], "2026-02-20T12:00:00.000Z");
    assert_eq!(get(&api, &format!("/v1/builds/{ID3}/logs")).status, 404);
    assert_eq!(get(&api, "/v1/builds/not-a-uuid/logs").status, 400);
}

#[test]
fn list_filters_sorts_and_paginates() {
    let build = |id: &str, created: &str, region: &str| PipecatBuild::new(id).created_at(created).region(region);
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(build(ID1, "2026-02-20T12:00:01.000Z", "us-west").step(ms(0), "success"))
            .pipecat(build(ID2, "2026-02-20T12:00:03.000Z", "us-west"))
            .pipecat(build(ID3, "2026-02-20T12:00:02.000Z", "eu-central").context_hash("ffff"))
            .pipecat(build(ID4, "2026-02-20T12:00:04.000Z", "us-west").appear_at(ms(60_000))),
    );
    let ids = |v: &Value| -> Vec<String> {
        v["builds"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_string()).collect()
    };
    let all = get(&api, "/v1/builds").json();
    assert_eq!(ids(&all), [ID2, ID3, ID1]);
    assert_eq!((all["total"].clone(), all["limit"].clone(), all["offset"].clone()), (json!(3), json!(20), json!(0)));

    let page = get(&api, "/v1/builds?limit=1&offset=1").json();
    assert_eq!(ids(&page), [ID3]);
    assert_eq!(page["total"], 3);

    let west = get(&api, "/v1/builds?region=us%2Dwest&status=pending").json();
    assert_eq!(ids(&west), [ID2]);
    assert_eq!(west["total"], 1);
    assert_eq!(ids(&get(&api, "/v1/builds?contextHash=ffff").json()), [ID3]);
    assert_eq!(ids(&get(&api, "/v1/builds?status=success").json()), [ID1]);
    assert_eq!(get(&api, "/v1/builds?offset=10").json()["builds"], json!([]));

    for bad in ["limit=0", "limit=101", "limit=abc", "offset=-1"] {
        let reply = get(&api, &format!("/v1/builds?{bad}"));
        assert_eq!(reply.status, 400, "{bad}");
        assert_eq!(reply.json()["code"], "INVALID_PARAMETER");
    }
    // Not yet appeared.
    let missing = get(&api, &format!("/v1/builds/{ID4}"));
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({"error": "Build not found", "code": "NOT_FOUND"}));
    let invalid = get(&api, "/v1/builds/123");
    assert_eq!(invalid.json()["code"], "INVALID_BUILD_ID");
    assert_eq!(get(&api, "/v1/nothing").json()["error"], "Not found");
}

#[test]
fn bad_or_missing_key_is_401_in_each_api_style() {
    let api =
        FakeApi::start(Scenario::new().api_key("right").pipecat(PipecatBuild::new(ID1)).prime(PrimeBuild::new("p1")));
    let pipecat = format!("/v1/builds/{ID1}");
    for key in [None, Some("wrong")] {
        let reply = parse(&raw_get(&api, &pipecat, key).unwrap());
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json(), json!({"error": "Unauthorized: invalid or missing API key", "code": "UNAUTHORIZED"}));
        let reply = parse(&raw_get(&api, "/api/v1/images/build/p1", key).unwrap());
        assert_eq!(reply.status, 401);
        assert_eq!(reply.json(), json!({"detail": "Not authenticated"}));
    }
    let ok = parse(&raw_get(&api, &pipecat, Some("right")).unwrap());
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("content-type"), Some("application/json"));
}

#[test]
fn prime_build_with_artifacts_and_snake_case() {
    let api = FakeApi::start(
        Scenario::new()
            .prime(
                PrimeBuild::new("my build")
                    .step(ms(0), "BUILDING")
                    .step(ms(100), "COMPLETED")
                    .artifact(
                        PrimeArtifact::new("c1", "CONTAINER_IMAGE")
                            .step(ms(100), "COMPLETED")
                            .full_image_path("reg/x:1"),
                    )
                    .artifact(PrimeArtifact::new("v1", "VM_SANDBOX").step(ms(100), "FAILED").error_message("no vm")),
            )
            .prime(PrimeBuild::new("snake").snake_case(true)),
    );
    let path = "/api/v1/images/build/my%20build";
    let first = get(&api, path).json();
    assert_eq!(first["status"], "BUILDING");
    assert!(first["startedAt"].is_string());
    assert_eq!(first["completedAt"], Value::Null);
    assert_eq!(first["artifacts"][0]["status"], "BUILDING");
    assert_eq!(first["artifacts"][0]["fullImagePath"], Value::Null);
    let seen = poll_until(&api, path, |v| v["status"] == "COMPLETED");
    let done = seen.last().unwrap();
    assert!(done["completedAt"].is_string());
    assert_eq!(done["artifacts"][0]["fullImagePath"], "reg/x:1");
    assert_eq!(done["artifacts"][1]["status"], "FAILED");
    assert_eq!(done["artifacts"][1]["errorMessage"], "no vm");

    let snake = get(&api, "/api/v1/images/build/snake").json();
    assert_eq!(snake["status"], "PENDING");
    assert_eq!(snake["image_name"], "my-image");
    assert_eq!(snake["started_at"], Value::Null);
    assert!(snake.get("imageName").is_none());

    let missing = get(&api, "/api/v1/images/build/nope");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({"detail": "Build not found"}));
    assert_eq!(api.requests()[0].path, path);
}

#[test]
fn a_fault_applies_exactly_times_times_before_auth() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).step(ms(0), "building"))
            .fault(Fault::new(Route::GetBuild, FaultKind::retry_after(429, "1")).times(2))
            .fault(Fault::new(Route::Logs, FaultKind::body(200, "text/html", "<html>oops"))),
    );
    let path = format!("/v1/builds/{ID1}");
    // Faults come before authentication.
    let first = parse(&raw_get(&api, &path, None).unwrap());
    assert_eq!(first.status, 429);
    assert_eq!(first.header("retry-after"), Some("1"));
    assert_eq!(first.json()["code"], "RATE_LIMITED");
    // Other routes are untouched.
    assert_eq!(get(&api, "/v1/builds").status, 200);
    assert_eq!(get(&api, &path).status, 429);
    let third = get(&api, &path);
    assert_eq!(third.status, 200);
    assert_eq!(third.json()["build"]["status"], "building");

    let html = get(&api, &format!("{path}/logs"));
    assert_eq!((html.status, html.header("content-type")), (200, Some("text/html")));
    assert_eq!(html.body, b"<html>oops");
    assert_eq!(get(&api, &format!("{path}/logs")).json(), json!({"logs": []}));

    assert_eq!(api.requests().len(), 6);
    assert_eq!(api.count(Route::GetBuild), 3);
    assert_eq!(api.count(Route::Any), 6);
}

#[test]
fn reset_faults_break_the_connection() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).logs(ms(0), (0..50).map(|i| format!("line {i}"))))
            .fault(Fault::new(Route::GetBuild, FaultKind::Reset))
            .fault(Fault::new(Route::Logs, FaultKind::ResetMidBody)),
    );
    let path = format!("/v1/builds/{ID1}");
    match raw_get(&api, &path, Some(DEFAULT_API_KEY)) {
        Err(error) => assert_eq!(error.kind(), ErrorKind::ConnectionReset),
        Ok(bytes) => panic!("expected a reset, got {} bytes", bytes.len()),
    }
    assert_eq!(get(&api, &path).status, 200);

    // The truncated answer: the full Content-Length, then fewer bytes, then RST.
    let mut stream = TcpStream::connect(("127.0.0.1", api.port())).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(stream, "GET {path}/logs HTTP/1.1\r\nAuthorization: Bearer {DEFAULT_API_KEY}\r\n\r\n").unwrap();
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let error = loop {
        match stream.read(&mut chunk) {
            Ok(0) => panic!("clean close instead of a reset"),
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(error) => break error,
        }
    };
    assert_eq!(error.kind(), ErrorKind::ConnectionReset);
    let text = String::from_utf8_lossy(&bytes);
    if let Some((head, body)) = text.split_once("\r\n\r\n") {
        let length: usize = head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).unwrap().parse().unwrap();
        assert!(body.len() < length, "{} of {length}", body.len());
    }
    assert_eq!(get(&api, &format!("{path}/logs")).json()["logs"][49], "line 49");
}

#[test]
fn delay_and_hang_faults() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).step(ms(0), "building").step(ms(150), "success"))
            .fault(Fault::new(Route::Any, FaultKind::Hang))
            .fault(Fault::new(Route::GetBuild, FaultKind::Delay(ms(200)))),
    );
    let mut stream = TcpStream::connect(("127.0.0.1", api.port())).unwrap();
    stream.set_read_timeout(Some(ms(200))).unwrap();
    stream.write_all(b"GET /anything HTTP/1.1\r\n\r\n").unwrap();
    let error = stream.read(&mut [0u8; 16]).unwrap_err();
    assert!(matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
    drop(stream);

    // The delayed answer reflects the timeline after the wait.
    let started = Instant::now();
    let reply = get(&api, &format!("/v1/builds/{ID1}"));
    assert!(started.elapsed() >= ms(200));
    assert_eq!(reply.json()["build"]["status"], "success");
}

#[test]
fn stop_and_lifetime_close_the_port() {
    let refused = |port: u16| TcpStream::connect(("127.0.0.1", port)).is_err();

    let api = FakeApi::start(Scenario::new());
    let port = api.port();
    assert!(api.pipecat_url().ends_with(&format!(":{port}/v1")));
    // A hanging client must not delay the stop.
    let mut hanging = TcpStream::connect(("127.0.0.1", port)).unwrap();
    hanging.write_all(b"GET /v1/builds HTTP/1.1\r\n").unwrap();
    let started = Instant::now();
    api.stop();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(refused(port));

    let api = FakeApi::start(Scenario::new().lifetime(ms(50)));
    let port = api.port();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !refused(port) {
        assert!(Instant::now() < deadline, "still listening after its lifetime");
        std::thread::sleep(ms(10));
    }
    drop(api);
}

/// The head (as text) and the raw rest of an answer that need not carry a Content-Length.
fn split_head(bytes: &[u8]) -> (String, Vec<u8>) {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("complete head");
    (String::from_utf8(bytes[..end].to_vec()).unwrap(), bytes[end + 4..].to_vec())
}

/// Every value of header `name` in a raw head.
fn header_values<'a>(head: &'a str, name: &str) -> Vec<&'a str> {
    head.split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .collect()
}

fn decode(encoding: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        Some("gzip") => flate2::read::GzDecoder::new(body).read_to_end(&mut out).unwrap(),
        Some("deflate") => flate2::read::ZlibDecoder::new(body).read_to_end(&mut out).unwrap(),
        None => return body.to_vec(),
        Some(other) => panic!("unexpected Content-Encoding {other}"),
    };
    out
}

/// Polls `target` until `done` holds (bounded by 10 s); the distinct JSON answers seen, in order.
fn distinct_until(api: &FakeApi, target: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = poll_until(api, target, done);
    seen.dedup();
    seen
}

#[test]
fn logs_cap_and_ignored_limit() {
    let lines = (0..8).map(|i| format!("l{i}"));
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).logs(ms(0), lines.clone()).logs_cap(3))
            .pipecat(PipecatBuild::new(ID2).logs(ms(0), lines.clone()).logs_ignore_limit(true))
            .pipecat(PipecatBuild::new(ID3).logs(ms(0), lines).logs_ignore_limit(true).logs_cap(5)),
    );
    let logs = |id: &str, query: &str| get(&api, &format!("/v1/builds/{id}/logs{query}")).json()["logs"].clone();
    assert_eq!(logs(ID1, ""), json!(["l5", "l6", "l7"]));
    assert_eq!(logs(ID1, "?limit=100"), json!(["l5", "l6", "l7"]));
    assert_eq!(logs(ID1, "?limit=2"), json!(["l6", "l7"]));
    assert_eq!(get(&api, &format!("/v1/builds/{ID1}/logs?limit=0")).status, 400);
    let all: Vec<String> = (0..8).map(|i| format!("l{i}")).collect();
    for query in ["", "?limit=1", "?limit=0", "?limit=x", "?limit=99999"] {
        let reply = get(&api, &format!("/v1/builds/{ID2}/logs{query}"));
        assert_eq!(reply.status, 200, "{query}");
        assert_eq!(reply.json()["logs"], json!(all), "{query}");
    }
    assert_eq!(logs(ID3, "?limit=1"), json!(["l3", "l4", "l5", "l6", "l7"]));
}

#[test]
fn log_restarts_drop_earlier_entries() {
    let api = FakeApi::start(
        Scenario::new().pipecat(
            PipecatBuild::new(ID1)
                .logs(ms(0), ["a", "b"])
                .log_restart(ms(150))
                .log(ms(200), "c")
                .log_restart(ms(300))
                .log(ms(300), "d")
                .log(ms(350), "e"),
        ),
    );
    let seen = distinct_until(&api, &format!("/v1/builds/{ID1}/logs"), |v| v["logs"] == json!(["d", "e"]));
    let logs: Vec<Value> = seen.iter().map(|v| v["logs"].clone()).collect();
    assert_eq!(logs[0], json!(["a", "b"]));
    let order = [json!(["a", "b"]), json!([]), json!(["c"]), json!(["d"]), json!(["d", "e"])];
    let rank = |v: &Value| order.iter().position(|o| o == v).unwrap_or_else(|| panic!("unexpected {v}"));
    assert!(logs.windows(2).all(|w| rank(&w[0]) < rank(&w[1])), "{logs:?}");
}

#[test]
fn a_growing_line_keeps_its_place_and_its_timestamp() {
    let steps = [(ms(100), "Downloading 10%"), (ms(200), "Downloading 10% 20%"), (ms(300), "Downloading 10% 20% 30%")];
    let build = |id: &str| PipecatBuild::new(id).log(ms(0), "before").growing_line(steps).log(ms(150), "after");
    let api = FakeApi::start(Scenario::new().pipecat(build(ID1)).pipecat(build(ID2).log_objects(true)));
    let last = json!(["before", "Downloading 10% 20% 30%", "after"]);
    let seen = distinct_until(&api, &format!("/v1/builds/{ID1}/logs"), |v| v["logs"] == last);
    assert_eq!(seen[0]["logs"], json!(["before"]));
    for value in &seen {
        let logs = value["logs"].as_array().unwrap();
        if logs.len() > 1 {
            assert!(logs[1].as_str().unwrap().starts_with("Downloading 10%"), "{logs:?}");
        }
    }

    let path = format!("/v1/builds/{ID2}/logs");
    let seen = poll_until(&api, &path, |v| v["logs"][1]["message"] == "Downloading 10% 20% 30%");
    let done = &seen.last().unwrap()["logs"];
    let stamps: Vec<&str> = done.as_array().unwrap().iter().map(|e| e["timestamp"].as_str().unwrap()).collect();
    assert_eq!(stamps, ["2026-02-20T12:00:00.000Z", "2026-02-20T12:00:00.100Z", "2026-02-20T12:00:00.150Z"]);
}

#[test]
fn raw_log_entries_are_written_verbatim() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(
                PipecatBuild::new(ID1)
                    .log(ms(0), "a \"q\" \u{e9}")
                    .raw_log(ms(0), r#""bad \udcff""#)
                    .raw_log(ms(0), b"\"\xff\"".to_vec())
                    .raw_log(ms(0), r#"{"message": 5}"#),
            )
            .pipecat(PipecatBuild::new(ID2).log(ms(0), "x").raw_log(ms(0), "7").log_objects(true)),
    );
    let plain = get(&api, &format!("/v1/builds/{ID1}/logs"));
    assert_eq!(plain.body, b"{\"logs\":[\"a \\\"q\\\" \xc3\xa9\",\"bad \\udcff\",\"\xff\",{\"message\": 5}]}");
    let objects = get(&api, &format!("/v1/builds/{ID2}/logs"));
    assert_eq!(
        String::from_utf8(objects.body).unwrap(),
        r#"{"logs":[{"message":"x","timestamp":"2026-02-20T12:00:00.000Z"},7]}"#
    );
}

#[test]
fn scenario_compression_applies_to_every_answer() {
    for (compression, encoding) in [(Compression::Gzip, "gzip"), (Compression::Deflate, "deflate")] {
        let api = FakeApi::start(
            Scenario::new()
                .compression(compression)
                .pipecat(PipecatBuild::new(ID1).step(ms(0), "building").logs(ms(0), ["x"; 200]))
                .fault(Fault::new(Route::ListBuilds, FaultKind::retry_after(429, "1")))
                .fault(Fault::new(Route::Logs, FaultKind::body(502, "text/html", "<html>bad gateway"))),
        );
        let check = |target: &str, status: u16| -> Vec<u8> {
            // No Accept-Encoding is sent.
            let reply = get(&api, target);
            assert_eq!(reply.status, status, "{target}");
            assert_eq!(reply.header("content-encoding"), Some(encoding), "{target}");
            assert!(reply.header("date").is_some());
            decode(Some(encoding), &reply.body)
        };
        let build: Value = serde_json::from_slice(&check(&format!("/v1/builds/{ID1}"), 200)).unwrap();
        assert_eq!(build["build"]["status"], "building");
        let missing: Value = serde_json::from_slice(&check(&format!("/v1/builds/{ID2}"), 404)).unwrap();
        assert_eq!(missing["code"], "NOT_FOUND");
        let limited: Value = serde_json::from_slice(&check("/v1/builds", 429)).unwrap();
        assert_eq!(limited["code"], "RATE_LIMITED");
        assert_eq!(check(&format!("/v1/builds/{ID1}/logs"), 502), b"<html>bad gateway");
        let logs_reply = get(&api, &format!("/v1/builds/{ID1}/logs"));
        assert!(logs_reply.body.len() < 200, "compressed: {} bytes", logs_reply.body.len());
        let logs: Value = serde_json::from_slice(&decode(Some(encoding), &logs_reply.body)).unwrap();
        assert_eq!(logs["logs"].as_array().unwrap().len(), 200);
    }
}

#[test]
fn a_compressed_fault_is_small_on_the_wire_and_large_decoded() {
    let mut big = b"{\"logs\":[\"".to_vec();
    big.resize(20 << 20, b'a');
    big.extend_from_slice(b"\"]}");
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1))
            .fault(Fault::new(Route::Logs, FaultKind::compressed(200, Compression::Gzip, big.clone())).times(2))
            .fault(Fault::new(Route::GetBuild, FaultKind::compressed(503, Compression::Deflate, "{\"a\":1}"))),
    );
    let reply = get(&api, &format!("/v1/builds/{ID1}/logs"));
    assert_eq!((reply.status, reply.header("content-encoding")), (200, Some("gzip")));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.body.len() < 100 << 10, "{} bytes on the wire", reply.body.len());
    assert!(decode(Some("gzip"), &reply.body) == big, "decodes to the 20 MiB body");
    // Encoded once per fault: the second answer is the same bytes.
    assert_eq!(get(&api, &format!("/v1/builds/{ID1}/logs")).body, reply.body);
    let small = get(&api, &format!("/v1/builds/{ID1}"));
    assert_eq!((small.status, small.header("content-encoding")), (503, Some("deflate")));
    assert_eq!(decode(Some("deflate"), &small.body), b"{\"a\":1}");
}

#[test]
fn chunked_faults_cut_or_break_the_body() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).step(ms(0), "building"))
            .fault(Fault::new(Route::GetBuild, FaultKind::ChunkedCut))
            .fault(Fault::new(Route::GetBuild, FaultKind::BadChunk)),
    );
    let path = format!("/v1/builds/{ID1}");
    let cut = raw_get(&api, &path, Some(DEFAULT_API_KEY)).expect("a clean close");
    let broken = raw_get(&api, &path, Some(DEFAULT_API_KEY)).expect("a clean close");
    let real = get(&api, &path).body;

    let (head, body) = split_head(&cut);
    assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
    assert_eq!(header_values(&head, "transfer-encoding"), ["chunked"]);
    assert!(header_values(&head, "content-length").is_empty());
    let half = &real[..real.len() / 2];
    let mut expected = format!("{:x}\r\n", half.len()).into_bytes();
    expected.extend_from_slice(half);
    expected.extend_from_slice(b"\r\n");
    assert_eq!(body, expected, "one chunk of the first half, no zero chunk");

    let (head, body) = split_head(&broken);
    assert_eq!(header_values(&head, "transfer-encoding"), ["chunked"]);
    assert!(header_values(&head, "content-length").is_empty());
    assert_eq!(body, b"zz\r\n");
}

#[test]
fn a_trickled_answer_arrives_slowly_and_whole() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).logs(ms(0), (0..10).map(|i| format!("line {i}"))))
            .fault(Fault::new(Route::Logs, FaultKind::Trickle { every: ms(10), bytes: 8 })),
    );
    let path = format!("/v1/builds/{ID1}/logs");
    let started = Instant::now();
    let slow = get(&api, &path);
    let elapsed = started.elapsed();
    let fast = get(&api, &path);
    assert_eq!(slow.body, fast.body);
    let writes = fast.body.len().div_ceil(8) as u32;
    assert!(writes >= 10);
    assert!(elapsed >= ms(10) * writes, "{writes} pauses of 10 ms in {elapsed:?}");
}

#[test]
fn header_faults_send_the_given_headers_once() {
    let date = "Fri, 20 Feb 2026 12:00:00 GMT";
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).step(ms(0), "building"))
            .fault(Fault::new(Route::GetBuild, FaultKind::status(503).with_header("Date", date)))
            .fault(Fault::new(
                Route::GetBuild,
                FaultKind::Headers(vec![("Date".into(), date.into()), ("Retry-After".into(), "120".into())])
                    .with_header("Location", "/elsewhere"),
            )),
    );
    let path = format!("/v1/builds/{ID1}");
    let status = raw_get(&api, &path, Some(DEFAULT_API_KEY)).unwrap();
    let headers = raw_get(&api, &path, Some(DEFAULT_API_KEY)).unwrap();
    let real = get(&api, &path);

    let (head, _) = split_head(&status);
    assert!(head.starts_with("HTTP/1.1 503 "));
    assert_eq!(header_values(&head, "date"), [date]);
    assert_eq!(parse(&status).json()["code"], "SERVICE_UNAVAILABLE");

    let (head, _) = split_head(&headers);
    assert!(head.starts_with("HTTP/1.1 200 "));
    assert_eq!(header_values(&head, "date"), [date]);
    assert_eq!(header_values(&head, "retry-after"), ["120"]);
    assert_eq!(header_values(&head, "location"), ["/elsewhere"]);
    assert_eq!(parse(&headers).body, real.body);
    assert_ne!(real.header("date"), Some(date));
    assert!(real.header("retry-after").is_none());
}

#[test]
fn vm_image_artifact_appears_when_building_starts() {
    let api =
        FakeApi::start(Scenario::new().prime(PrimeBuild::vm_image("vm1", ms(100), ms(250))).prime(
            PrimeBuild::new("late").artifact(PrimeArtifact::new("c1", "CONTAINER_IMAGE").appear_at(ms(60_000))),
        ));
    let path = "/api/v1/images/build/vm1";
    let seen = distinct_until(&api, path, |v| v["status"] == "COMPLETED");
    assert_eq!(seen[0]["status"], "UPLOADING");
    for value in &seen {
        let artifacts = value["artifacts"].as_array().unwrap();
        match value["status"].as_str().unwrap() {
            "UPLOADING" => assert!(artifacts.is_empty(), "{value}"),
            "BUILDING" => {
                assert_eq!(artifacts.len(), 1, "{value}");
                assert_eq!(artifacts[0]["status"], "BUILDING");
                assert_eq!(artifacts[0]["fullImagePath"], Value::Null);
            }
            "COMPLETED" => {
                assert_eq!(artifacts.len(), 1, "{value}");
                assert_eq!(artifacts[0]["id"], "vm1-vm");
                assert_eq!(artifacts[0]["artifactType"], "VM_SANDBOX");
                assert_eq!(artifacts[0]["fullImagePath"], "registry.primeintellect.ai/my-image:latest");
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(seen.iter().any(|v| v["status"] == "BUILDING"), "{seen:?}");
    assert_eq!(get(&api, "/api/v1/images/build/late").json()["artifacts"], json!([]));
}

#[test]
fn tls_serves_the_scenario_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::generate(dir.path()).expect("openssl makes test certificates");
    let api = FakeApi::start_tls(
        Scenario::new().lifetime(Duration::from_secs(30)).pipecat(PipecatBuild::new(ID1).step(ms(0), "building")),
        &certs.cert_chain,
        &certs.key,
    );
    assert!(api.is_tls());
    assert_eq!(api.pipecat_url(), format!("https://127.0.0.1:{}/v1", api.port()));

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    roots.add(rustls::pki_types::CertificateDer::from_pem_file(&certs.ca).unwrap()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(("127.0.0.1", api.port())).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(connection, tcp);
    write!(tls, "GET /v1/builds/{ID1} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {DEFAULT_API_KEY}\r\n\r\n")
        .unwrap();
    let mut bytes = Vec::new();
    tls.read_to_end(&mut bytes).expect("the answer, then close_notify");
    assert_eq!(tls.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    let reply = parse(&bytes);
    assert_eq!(reply.status, 200);
    assert!(reply.header("date").is_some());
    assert_eq!(reply.json()["build"]["status"], "building");

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = raw_get(&api, "/v1/builds", Some(DEFAULT_API_KEY)).unwrap_or_default();
    assert!(!plain.starts_with(b"HTTP/"));
    assert_eq!(api.count(Route::GetBuild), 1);
    api.stop();
}

/// Milliseconds since the Unix epoch of a `YYYY-MM-DDTHH:MM:SS[.fff]Z` timestamp.
fn rfc3339_ms(text: &str) -> i64 {
    let (date, clock) = text.strip_suffix('Z').unwrap().split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, "0"));
    let c: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().unwrap();
    // Days from civil (Howard Hinnant).
    let (y, m) = if d[1] <= 2 { (d[0] - 1, d[1] + 9) } else { (d[0], d[1] - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    ((days * 86_400 + c[0] * 3_600 + c[1] * 60 + c[2]) * 1_000) + millis
}

fn unix_ms(t: SystemTime) -> i64 {
    i64::try_from(t.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap()
}

/// The `Date` header of a reply, in ms since the epoch.
fn date_ms(reply: &Reply) -> i64 {
    unix_ms(httpdate::parse_http_date(reply.header("date").expect("a Date header")).unwrap())
}

#[test]
fn history_builds_are_listed_newest_first_and_stay_finished() {
    let started = SystemTime::now() - Duration::from_secs(7_200);
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).step(ms(0), "building").dockerfile_path("docker/Dockerfile.prod"))
            .history(7, Duration::from_secs(600), Duration::from_secs(30), 42)
            .pipecat(
                PipecatBuild::finished(ID2, "success", started, Duration::from_millis(95_500))
                    .dockerfile_path("Dockerfile.gpu"),
            )
            .pipecat(PipecatBuild::finished(ID3, "failed", started, Duration::from_secs(10))),
    );
    let now = unix_ms(SystemTime::now());
    let listed = get(&api, "/v1/builds?status=success&region=us-west&limit=50").json();
    let builds = listed["builds"].as_array().unwrap();
    assert_eq!(builds.len(), 8, "7 history builds and ID2; not the building one, not the failed one");
    let created: Vec<i64> = builds.iter().map(|b| rfc3339_ms(b["createdAt"].as_str().unwrap())).collect();
    assert!(created.windows(2).all(|w| w[0] > w[1]), "newest first: {created:?}");
    let mut durations = Vec::new();
    for build in builds {
        assert_eq!(build["status"], "success");
        let (start, end) =
            (rfc3339_ms(build["startedAt"].as_str().unwrap()), rfc3339_ms(build["completedAt"].as_str().unwrap()));
        assert!(end < now && start < end, "{build}");
        assert_eq!(build["buildDurationSeconds"], (end - start) / 1_000, "{build}");
        assert!(build["imageUri"].is_string());
        durations.push(end - start);
    }
    let gpu = builds.iter().find(|b| b["id"] == ID2).unwrap();
    assert_eq!(gpu["dockerfilePath"], "Dockerfile.gpu");
    assert_eq!(gpu["buildDurationSeconds"], 95);
    assert_eq!(rfc3339_ms(gpu["startedAt"].as_str().unwrap()), unix_ms(started));
    let history: Vec<&Value> = builds.iter().filter(|b| b["id"] != ID2).collect();
    assert!(history.iter().all(|b| b["dockerfilePath"] == "Dockerfile"));
    // History ended 5 to 15 minutes before now, the newest first.
    let newest_end = rfc3339_ms(history[0]["completedAt"].as_str().unwrap());
    assert!((now - 15 * 60_000..=now - 5 * 60_000).contains(&newest_end), "{}", now - newest_end);
    let mut history_durations: Vec<i64> = history
        .iter()
        .map(|b| rfc3339_ms(b["completedAt"].as_str().unwrap()) - rfc3339_ms(b["startedAt"].as_str().unwrap()))
        .collect();
    history_durations.sort_unstable();
    assert!((599_000..=601_000).contains(&history_durations[3]), "median {history_durations:?}");
    assert!(history_durations[0] >= 570_000 && history_durations[6] <= 630_000, "{history_durations:?}");
    assert!(history_durations[6] - history_durations[0] > 40_000, "spread {history_durations:?}");
    // The same history for the same seed; a request by id starts a clock but changes nothing.
    let again = get(&api, &format!("/v1/builds/{}", history[2]["id"].as_str().unwrap())).json();
    assert_eq!(&again["build"], history[2]);
    assert_eq!(get(&api, &format!("/v1/builds/{ID3}")).json()["build"]["status"], "failed");
    assert_eq!(get(&api, &format!("/v1/builds/{ID1}")).json()["build"]["dockerfilePath"], "docker/Dockerfile.prod");
    let other = PipecatBuild::history(7, Duration::from_secs(600), Duration::from_secs(30), 42);
    assert_eq!(
        other.iter().map(PipecatBuild::id).collect::<Vec<_>>(),
        history.iter().map(|b| b["id"].as_str().unwrap()).collect::<Vec<_>>()
    );
}

#[test]
fn timestamps_on_clock_follow_the_clock_and_agree_with_the_date_header() {
    let api = FakeApi::start(
        Scenario::new().pipecat(
            PipecatBuild::new(ID1)
                .step(ms(0), "pending")
                .step(ms(100), "building")
                .step(ms(1_300), "success")
                .timestamps_on_clock()
                .log_objects(true)
                .container_log(ms(50), "Entering phase BUILD")
                .log(ms(60), "#1 output"),
        ),
    );
    let path = format!("/v1/builds/{ID1}");
    let first = get(&api, &path);
    let build = first.json()["build"].clone();
    assert_eq!(build["status"], "pending");
    assert!(build.get("startedAt").is_none());
    let created = rfc3339_ms(build["createdAt"].as_str().unwrap());
    let date = date_ms(&first);
    assert!((date - 1_000..=date + 1_000).contains(&created), "createdAt {created} vs Date {date}");
    assert!((created - unix_ms(SystemTime::now())).abs() < 1_000);

    let done = poll_until(&api, &path, |v| v["build"]["status"] == "success").pop().unwrap()["build"].clone();
    let at = |name: &str| rfc3339_ms(done[name].as_str().unwrap());
    assert_eq!(at("createdAt"), created);
    assert_eq!(at("startedAt"), created + 100);
    assert_eq!(at("completedAt"), created + 1_300);
    assert_eq!(at("updatedAt"), created + 1_300);
    assert_eq!(done["buildDurationSeconds"], 1);
    assert!(done["createdAt"].as_str().unwrap().ends_with('Z') && done["createdAt"].as_str().unwrap().len() == 24);

    let logs = get(&api, &format!("{path}/logs")).json();
    let (line, stamp) = (logs["logs"][0]["message"].as_str().unwrap(), logs["logs"][0]["timestamp"].as_str().unwrap());
    assert_eq!(rfc3339_ms(stamp), created + 50);
    assert_eq!(fake_api::codebuild::line_key(line), "[Container] Entering phase BUILD");
    // `[Container] YYYY/MM/DD HH:MM:SS.ffffff`: the same instant as the timestamp, in microseconds.
    let iso = format!("{}Z", line[12..38].replacen('/', "-", 2).replacen(' ', "T", 1));
    assert_eq!(rfc3339_ms(&iso), created + 50, "{line}");
    assert_eq!(logs["logs"][1]["message"], "#1 output");
}

#[test]
fn clock_skew_moves_every_timestamp_and_the_date_header() {
    let hours = |n: u64| Duration::from_secs(n * 3_600);
    for (skew, sign) in [(ClockSkew::Ahead(hours(2)), 1), (ClockSkew::Behind(hours(3)), -1)] {
        let offset_ms = sign
            * i64::try_from(match skew {
                ClockSkew::Ahead(d) | ClockSkew::Behind(d) => d.as_millis(),
            })
            .unwrap();
        assert_eq!(skew.signed_millis(), offset_ms);
        let api = FakeApi::start(
            Scenario::new()
                .clock_skew(skew)
                .pipecat(PipecatBuild::new(ID1).step(ms(0), "building").timestamps_on_clock())
                .pipecat(PipecatBuild::new(ID2).step(ms(0), "success"))
                .pipecat(PipecatBuild::finished(ID3, "success", SystemTime::now() - hours(1), Duration::from_secs(60)))
                .prime(PrimeBuild::new("p1").step(ms(0), "COMPLETED"))
                .fault(Fault::new(Route::Logs, FaultKind::status(503))),
        );
        let local = unix_ms(SystemTime::now());
        let reply = get(&api, &format!("/v1/builds/{ID1}"));
        let date = date_ms(&reply);
        assert!((date - (local + offset_ms)).abs() <= 2_000, "{skew:?}: Date {date} vs local {local}");
        let created = rfc3339_ms(reply.json()["build"]["createdAt"].as_str().unwrap());
        assert!((created - date).abs() <= 1_000, "{skew:?}: createdAt {created} vs Date {date}");

        let fixed = get(&api, &format!("/v1/builds/{ID2}")).json()["build"].clone();
        assert_eq!(
            rfc3339_ms(fixed["createdAt"].as_str().unwrap()),
            rfc3339_ms("2026-02-20T12:00:00.000Z") + offset_ms
        );
        assert_eq!(
            rfc3339_ms(fixed["completedAt"].as_str().unwrap()),
            rfc3339_ms("2026-02-20T12:02:02.000Z") + offset_ms
        );
        let finished = get(&api, &format!("/v1/builds/{ID3}")).json()["build"].clone();
        let ended = rfc3339_ms(finished["completedAt"].as_str().unwrap());
        assert!((ended - (local - 3_540_000 + offset_ms)).abs() < 2_000, "{skew:?}: {finished}");
        assert_eq!(finished["buildDurationSeconds"], 60);
        let prime = get(&api, "/api/v1/images/build/p1").json();
        assert_eq!(rfc3339_ms(prime["createdAt"].as_str().unwrap()), rfc3339_ms("2026-02-20T12:00:00Z") + offset_ms);
        // Faulted answers carry the skewed Date too.
        let faulted = get(&api, &format!("/v1/builds/{ID1}/logs"));
        assert_eq!(faulted.status, 503);
        assert!((date_ms(&faulted) - date).abs() <= 2_000);
    }
    // Without a skew every string is served exactly as given.
    let api = FakeApi::start(Scenario::new().pipecat(PipecatBuild::new(ID1).created_at("2026-02-20T12:00:00.5Z")));
    assert_eq!(get(&api, &format!("/v1/builds/{ID1}")).json()["build"]["createdAt"], "2026-02-20T12:00:00.5Z");
}

#[test]
fn clock_started_is_known_from_the_first_request_naming_the_build() {
    let api = FakeApi::start(
        Scenario::new()
            .pipecat(PipecatBuild::new(ID1).step(ms(0), "building"))
            .pipecat(PipecatBuild::new(ID2).appear_at(ms(60_000)))
            .prime(PrimeBuild::new("p1")),
    );
    assert_eq!(api.clock_started(ID1), None);
    get(&api, "/v1/builds");
    assert_eq!(api.clock_started(ID1), None, "a list starts no clock");
    let before = Instant::now();
    get(&api, &format!("/v1/builds/{ID1}/logs"));
    let after = Instant::now();
    let started = api.clock_started(ID1).expect("started by the logs request");
    assert!(before <= started && started <= after);
    get(&api, &format!("/v1/builds/{ID1}"));
    assert_eq!(api.clock_started(ID1), Some(started), "the first request only");
    get(&api, &format!("/v1/builds/{ID2}"));
    assert_eq!(api.clock_started(ID2), None, "not yet appeared");
    assert_eq!(api.clock_started("nobody"), None);
    get(&api, "/api/v1/images/build/p1");
    assert!(api.clock_started("p1").is_some());
}

#[test]
fn a_codebuild_script_is_served_line_by_line_with_stamps() {
    use fake_api::codebuild::{CodebuildPlan, line_key};
    let plan = CodebuildPlan { second: Duration::from_millis(2), ..CodebuildPlan::default() };
    let script = plan.script(ID1);
    let api = FakeApi::start(Scenario::new().pipecat(script.build.clone().timestamps_on_clock()));
    let path = format!("/v1/builds/{ID1}");
    let done = poll_until(&api, &path, |v| v["build"]["status"] == "success");
    assert!(done.len() > 1);
    let logs = get(&api, &format!("{path}/logs?limit=10000")).json();
    let served: Vec<String> =
        logs["logs"].as_array().unwrap().iter().map(|l| line_key(l.as_str().unwrap()).into_owned()).collect();
    let keys: Vec<String> = script.lines.iter().map(|l| l.key.clone()).collect();
    assert_eq!(served, keys);
    let build = &done.last().unwrap()["build"];
    let (start, end) =
        (rfc3339_ms(build["startedAt"].as_str().unwrap()), rfc3339_ms(build["completedAt"].as_str().unwrap()));
    assert_eq!(end - start, i64::try_from((script.ends_at - script.building_at).as_millis()).unwrap());
}
