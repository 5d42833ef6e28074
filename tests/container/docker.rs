//! The Docker side of `tests/container.rs`: whether an engine answers, the release binary, a
//! `FROM scratch` image holding it with exactly the files it needs, and guards that remove every
//! image and container the tests create. Every command runs under a time bound.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The label on every container the tests start (`docker ps -a --filter label=...` finds strays).
pub const LABEL: &str = "buildgate-container-test";

/// Where the image holds the binary, as in the project's Dockerfile.
pub const ENTRYPOINT: &str = "/usr/local/bin/buildgate";

/// The CA bundle copied from the host to the same path in the image (where rustls finds it).
const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// A name no other test run on this engine uses: the process id, a counter and the time.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{nanos:09}", std::process::id())
}

/// A started process whose stdout and stderr are read by threads (so it never blocks on a pipe).
pub struct Running {
    child: Child,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

/// What a finished process left behind.
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// The exit code; -1 when killed by a signal (the docker client's own, not the container's).
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> Option<JoinHandle<Vec<u8>>> {
    pipe.map(|mut pipe| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    })
}

impl Running {
    pub fn start(cmd: &mut Command) -> std::io::Result<Running> {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
        let (stdout, stderr) = (drain(child.stdout.take()), drain(child.stderr.take()));
        Ok(Running { child, stdout, stderr })
    }

    /// Waits at most `limit`; on expiry the process is killed and `Err` says what it printed.
    pub fn finish_within(mut self, limit: Duration) -> Result<Finished, String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                return Ok(self.collect(status));
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let status = self.child.wait().map_err(|e| e.to_string())?;
                let left = self.collect(status);
                return Err(format!(
                    "did not end within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    left.stdout, left.stderr
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Whether it has ended, without waiting.
    pub fn ended(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The output of a process that has ended (`status` from [`Running::ended`]).
    pub fn collect(&mut self, status: ExitStatus) -> Finished {
        let text = |h: Option<JoinHandle<Vec<u8>>>| {
            h.and_then(|h| h.join().ok()).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
        };
        Finished { status, stdout: text(self.stdout.take()), stderr: text(self.stderr.take()) }
    }
}

/// Runs `cmd` to its end within `limit`; `Err` when it cannot start or runs too long.
pub fn output_within(cmd: &mut Command, limit: Duration) -> Result<Finished, String> {
    Running::start(cmd).map_err(|e| format!("cannot start {}: {e}", cmd.get_program().display()))?.finish_within(limit)
}

pub fn docker() -> Command {
    Command::new("docker")
}

/// `Ok(server version)` when a Docker engine answers `docker info`, else why not.
pub fn engine() -> Result<String, String> {
    let mut cmd = docker();
    cmd.args(["info", "--format", "{{.ServerVersion}}"]);
    let done = output_within(&mut cmd, Duration::from_secs(20)).map_err(|e| format!("docker info: {e}"))?;
    let version = done.stdout.trim();
    if done.status.success() && !version.is_empty() {
        return Ok(version.to_string());
    }
    let why = done.stderr.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("no reason given").to_string();
    Err(format!("docker info: {}: {why}", done.status))
}

/// The release binary, built by `cargo build --release` from the current sources (a no-op when
/// it is up to date), once per test process. Bounded: a cold LTO build on two cores takes
/// minutes, far less than the bound.
pub fn release_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| option_env!("CARGO").unwrap_or("cargo").into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
            "build",
            "--release",
            "--locked",
            "--bin",
            "buildgate",
            "--message-format=json-render-diagnostics",
        ]);
        let started = Instant::now();
        let done = output_within(&mut cmd, Duration::from_secs(40 * 60))
            .unwrap_or_else(|e| panic!("cargo build --release --bin buildgate: {e}"));
        assert!(done.status.success(), "cargo build --release --bin buildgate failed:\n{}", done.stderr);
        // The artifact message names the executable, wherever the target directory is.
        let executable = done
            .stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "buildgate")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .unwrap_or_else(|| panic!("cargo build named no buildgate executable:\n{}", done.stdout));
        note(&format!("release binary {} ready in {:.1?}", executable.display(), started.elapsed()));
        // The release binary stays small enough to download in a job's first seconds.
        let size = std::fs::metadata(&executable).map_or(0, |m| m.len());
        assert!(size <= 8_000_000, "the release binary is {size} bytes, over 8 MB");
        executable
    })
}

/// A line on stderr that the test harness does not capture (so it shows without --nocapture).
pub fn note(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "container: {text}");
}

/// The absolute paths of the shared libraries and the dynamic loader `binary` needs, by `ldd`
/// (empty for a static binary).
fn shared_libraries(binary: &Path) -> Vec<PathBuf> {
    let mut cmd = Command::new("ldd");
    cmd.arg(binary);
    let done = output_within(&mut cmd, Duration::from_secs(30)).unwrap_or_else(|e| panic!("ldd: {e}"));
    let all = format!("{}{}", done.stdout, done.stderr);
    if all.contains("not a dynamic executable") || all.contains("statically linked") {
        return Vec::new();
    }
    assert!(done.status.success(), "ldd {} failed ({}):\n{all}", binary.display(), done.status);
    let mut paths = Vec::new();
    for line in done.stdout.lines().map(str::trim) {
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`, `/lib64/ld-linux-x86-64.so.2
        // (0x...)` (the loader), `linux-vdso.so.1 (0x...)` (in the kernel: nothing to copy).
        let path = match line.split_once("=>") {
            Some((_, target)) => target.trim(),
            None => line,
        };
        assert!(!path.starts_with("not found"), "ldd: a library of {} is missing: {line}", binary.display());
        let path = path.split(" (").next().unwrap_or_default().trim();
        if path.starts_with('/') {
            paths.push(PathBuf::from(path));
        }
    }
    paths
}

/// Copies `from` (following symbolic links) to `root` + `at`, creating the directories.
fn place(root: &Path, from: &Path, at: &Path) {
    let to = root.join(at.strip_prefix("/").unwrap_or(at));
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, &to).unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
}

/// An image the tests built; removed on drop.
pub struct Image {
    pub name: String,
}

impl Image {
    /// A `FROM scratch` image: the binary at [`ENTRYPOINT`] (its entrypoint, as in the project's
    /// Dockerfile), the libraries and loader `ldd` names at their own paths, the host's CA bundle.
    /// The legacy builder: a `FROM scratch` build needs no registry, and it is there on every
    /// engine, with or without `BuildKit`.
    pub fn build(binary: &Path) -> Image {
        let context = tempfile::tempdir().unwrap();
        let root = context.path().join("rootfs");
        place(&root, binary, Path::new(ENTRYPOINT));
        let libraries = shared_libraries(binary);
        for library in &libraries {
            place(&root, library, library);
        }
        if Path::new(CA_BUNDLE).is_file() {
            place(&root, Path::new(CA_BUNDLE), Path::new(CA_BUNDLE));
        } else {
            note(&format!("{CA_BUNDLE} is not on this host: the image has no CA bundle"));
        }
        std::fs::write(
            context.path().join("Dockerfile"),
            format!("FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"{ENTRYPOINT}\"]\n"),
        )
        .unwrap();
        let image = Image { name: format!("{}:latest", unique(LABEL)) };
        let mut cmd = docker();
        cmd.env("DOCKER_BUILDKIT", "0")
            .args(["build", "--quiet", "--label", LABEL, "--tag", &image.name])
            .arg(context.path());
        let done = output_within(&mut cmd, Duration::from_secs(120)).unwrap_or_else(|e| panic!("docker build: {e}"));
        assert!(done.status.success(), "docker build failed ({}):\n{}\n{}", done.status, done.stdout, done.stderr);
        let shown: Vec<String> = libraries.iter().map(|l| l.display().to_string()).collect();
        note(&format!("image {} built: {ENTRYPOINT} with {}", image.name, shown.join(", ")));
        image
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        let mut cmd = docker();
        cmd.args(["rmi", "--force", &self.name]);
        match output_within(&mut cmd, Duration::from_secs(60)) {
            Ok(done) if done.status.success() => {}
            Ok(done) => note(&format!("could not remove image {}: {}", self.name, done.stderr.trim())),
            Err(e) => note(&format!("could not remove image {}: {e}", self.name)),
        }
    }
}

/// A container name in use by a test; the container is removed on drop (whether it ran with
/// `--rm` or not, ended or not), so a failing assertion leaves nothing behind.
pub struct Container {
    pub name: String,
}

impl Container {
    pub fn new() -> Container {
        Container { name: unique(LABEL) }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let mut cmd = docker();
        cmd.args(["rm", "--force", &self.name]);
        // "No such container" is the usual answer: `--rm` removed it when it ended.
        if let Err(e) = output_within(&mut cmd, Duration::from_secs(60)) {
            note(&format!("could not remove container {}: {e}", self.name));
        }
    }
}
