#![allow(dead_code)]
//! A real S3-compatible server (moto) on loopback for integration tests.
//!
//! [`S3Server::start`] spawns `moto_server -H 127.0.0.1 -p PORT` (or
//! `python3 -m moto.server ...` when `moto_server` is not on `PATH`) in its own
//! process group, with stdout/stderr going to a log file in a temporary
//! directory, and waits until `GET /` answers. Install moto with
//!
//! ```text
//! python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --break-system-packages 'moto[server]>=5.2.5'
//! ```
//!
//! (`.ci/run` does). Older moto (5.2.1) answers CompleteMultipartUpload with a
//! `<CompleteMultipartUploadResponse>` root that aws-sdk-s3 cannot parse;
//! ListParts has the same defect even in 5.2.5, so tests must not rely on it.
//!
//! The server is killed (SIGKILL to its whole process group, so wrappers such
//! as pyenv shims, which run moto as a child, do not leave it orphaned) and
//! reaped on drop or [`S3Server::stop`]. Starting takes about 1-2 s on a busy
//! 2-core machine.
//!
//! moto keeps all state in memory: buckets and objects live only as long as the
//! process, so a restart ([`S3Server::restart`] or [`S3Server::start_on`] with
//! the old port) comes back *empty*.
//!
//! What moto does (pinned by `tests/servers_selftest.rs`): it accepts any
//! credentials (signatures are not checked), but refuses anonymous (unsigned)
//! object reads with 403; a missing bucket gives `NoSuchBucket` (404) for
//! GET/PUT/List and a bare 404 (`NotFound`) for HEAD; a missing key gives
//! `NoSuchKey`; bucket names are validated; user-metadata keys come back
//! lower-cased; a single-PUT ETag is the quoted hex MD5. Tests use static
//! `test`/`test` credentials, region `us-east-1`, path-style addressing (with an
//! IP endpoint the SDK uses path style even without `force_path_style`).
//!
//! The assertion helpers ([`S3Server::put`], [`S3Server::get`], ...) are
//! blocking: each runs the aws-sdk-s3 call on a short-lived helper thread that
//! drives a current-thread tokio runtime owned by the server, so they may be
//! called from plain `#[test]`s and from inside async code alike. They panic on
//! unexpected errors (with the server log tail), and do not retry.

use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

/// The pip command that installs moto's server.
pub const MOTO_INSTALL: &str = "python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --break-system-packages 'moto[server]>=5.2.5'";

/// How long [`S3Server::start`] waits for moto to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Static credentials and region used by the helpers and by [`S3Server::env`].
pub const ACCESS_KEY: &str = "test";
pub const SECRET_KEY: &str = "test";
pub const REGION: &str = "us-east-1";

/// A running moto S3 server; see the module docs. Killed on drop.
pub struct S3Server {
    port: u16,
    child: Option<Child>,
    /// Holds the log file; removed on drop.
    log_dir: tempfile::TempDir,
    log_path: PathBuf,
    /// Drives the SDK calls of the helpers; `Option` so drop can move it to a
    /// plain thread (dropping a runtime inside async code panics).
    rt: Option<tokio::runtime::Runtime>,
    client: Client,
}

impl S3Server {
    /// Starts moto on a free loopback port and waits until it answers (up to
    /// 20 s). Panics with the server log if it does not come up, and with the pip
    /// command ([`MOTO_INSTALL`]) if moto is not installed.
    pub fn start() -> S3Server {
        // The port is free when we look but could be taken before moto binds it;
        // retry a couple of times with fresh ports in that (rare) case.
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            match S3Server::try_start_on(port) {
                Ok(s) => return s,
                Err(e) => last = e,
            }
        }
        panic!("{last}");
    }

    /// Starts moto on `port` (e.g. the port of a server that was [`stop`]ped, to
    /// bring it back for a rerun). The new server is empty: moto keeps state in
    /// memory only. Panics like [`S3Server::start`], including when the port is
    /// in use.
    ///
    /// [`stop`]: S3Server::stop
    pub fn start_on(port: u16) -> S3Server {
        S3Server::try_start_on(port).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_start_on(port: u16) -> Result<S3Server, String> {
        let log_dir = tempfile::Builder::new()
            .prefix("reelframe-moto-")
            .tempdir()
            .expect("tempdir for the moto log");
        let log_path = log_dir.path().join(format!("moto-{port}.log"));
        let child = spawn_moto(port, &log_path)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let endpoint = format!("http://127.0.0.1:{port}");
        let client = {
            // Building the client needs no runtime, but keep it inside one anyway
            // in case the SDK's default HTTP client wants a reactor handle.
            let _guard = rt.enter();
            make_client(&endpoint)
        };
        let mut server = S3Server {
            port,
            child: Some(child),
            log_dir,
            log_path,
            rt: Some(rt),
            client,
        };
        server.wait_ready()?;
        Ok(server)
    }

    /// Polls `GET /` until moto answers with any HTTP status; fails (after
    /// killing the child) if moto exits or does not answer within 20 s.
    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(format!(
                    "moto exited before answering on port {} ({status}); is moto installed? \
                     install it with: {MOTO_INSTALL}\n--- moto log tail ---\n{}",
                    self.port,
                    self.log_tail()
                ));
            }
            if http_answers(addr) {
                return Ok(());
            }
            if start.elapsed() > READY_TIMEOUT {
                self.stop();
                return Err(format!(
                    "moto did not answer on port {} within {READY_TIMEOUT:?}\n--- moto log tail ---\n{}",
                    self.port,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `http://127.0.0.1:PORT` (still valid after [`S3Server::stop`]).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port moto listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server now (SIGKILL to its process group) and reaps it; requests
    /// to [`S3Server::endpoint`] then fail with "connection refused". Idempotent.
    /// The helpers panic after this (until [`S3Server::restart`]).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // The child leads its own process group: kill wrappers (pyenv shims)
            // and moto alike.
            // SAFETY: plain syscall; the pid is our child's, not yet reaped.
            unsafe {
                libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = child.kill();
            let _ = child.wait();
            // `wait` reaps only our direct child (possibly a wrapper such as a
            // pyenv shim, which runs moto as *its* child); wait until the listening
            // socket is really gone so "stopped" means "refuses connections".
            let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
            let start = Instant::now();
            while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok()
                && start.elapsed() < Duration::from_secs(5)
            {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Whether the moto process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// [`stop`](S3Server::stop)s (if running) and starts a fresh, *empty* moto on
    /// the same port, keeping this handle (endpoint, [`env`](S3Server::env))
    /// valid. Panics like [`S3Server::start_on`].
    pub fn restart(&mut self) {
        self.stop();
        let fresh = S3Server::start_on(self.port);
        *self = fresh; // drops the old (stopped) handle
    }

    /// The last ~4 KiB of moto's stdout/stderr.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log_path, 4096)
    }

    /// Path of moto's log file (inside a tempdir removed on drop).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Environment for running the `reelframe` binary (or any AWS SDK program)
    /// against this server: `AWS_ACCESS_KEY_ID=test`, `AWS_SECRET_ACCESS_KEY=test`,
    /// `AWS_REGION=us-east-1`, `AWS_ENDPOINT_URL=<endpoint>`,
    /// `AWS_EC2_METADATA_DISABLED=true`. Use with `Command::envs`.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_string()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// A fresh aws-sdk-s3 client for this server (path-style, `us-east-1`,
    /// `test`/`test`, no retries, 30 s operation timeout), for tests that need
    /// the full API or want to inspect errors. Use it from your own runtime.
    pub fn client(&self) -> Client {
        make_client(&self.endpoint())
    }

    /// Runs `fut` to completion on this server's runtime, on a helper thread (so
    /// it works even when called from async code).
    fn block<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let rt = self.rt.as_ref().expect("runtime present until drop");
        std::thread::scope(|s| {
            s.spawn(|| rt.block_on(fut))
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    }

    fn fail(&self, what: &str, err: impl std::fmt::Debug) -> ! {
        panic!(
            "S3 {what} against {} failed: {err:?}\n--- moto log tail ---\n{}",
            self.endpoint(),
            self.log_tail()
        )
    }

    /// Creates bucket `name` (panics on error, e.g. if it already exists).
    pub fn create_bucket(&self, name: &str) {
        let c = self.client.clone();
        let r = self.block(async move { c.create_bucket().bucket(name).send().await });
        if let Err(e) = r {
            self.fail(&format!("CreateBucket {name}"), e);
        }
    }

    /// Puts `bytes` at `bucket/key` (no content type, no metadata).
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        self.put_with(bucket, key, bytes, None, &[]);
    }

    /// Puts `bytes` at `bucket/key` with an optional `Content-Type` and user
    /// metadata (`x-amz-meta-<name>`).
    pub fn put_with(
        &self,
        bucket: &str,
        key: &str,
        bytes: &[u8],
        content_type: Option<&str>,
        metadata: &[(&str, &str)],
    ) {
        let c = self.client.clone();
        let body = ByteStream::from(bytes.to_vec());
        let r = self.block(async move {
            let mut req = c.put_object().bucket(bucket).key(key).body(body);
            if let Some(ct) = content_type {
                req = req.content_type(ct);
            }
            for (k, v) in metadata {
                req = req.metadata(*k, *v);
            }
            req.send().await
        });
        if let Err(e) = r {
            self.fail(&format!("PutObject {bucket}/{key}"), e);
        }
    }

    /// The bytes at `bucket/key`; `None` if the key does not exist (NoSuchKey).
    /// Panics on any other error (including a missing bucket).
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let c = self.client.clone();
        let r = self.block(async move {
            match c.get_object().bucket(bucket).key(key).send().await {
                Ok(out) => match out.body.collect().await {
                    Ok(data) => Ok(Some(data.into_bytes().to_vec())),
                    Err(e) => Err(format!("reading body: {e:?}")),
                },
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
                Err(e) => Err(format!("{e:?}")),
            }
        });
        r.unwrap_or_else(|e| self.fail(&format!("GetObject {bucket}/{key}"), e))
    }

    /// `Content-Type` and user metadata of `bucket/key` (HeadObject); `None` if
    /// the object does not exist (a missing *bucket* panics). Metadata keys come
    /// back without the `x-amz-meta-` prefix and lower-cased (`Source-Url` is
    /// returned as `source-url`, as AWS does); an object put without a
    /// `Content-Type` reports `application/octet-stream`.
    pub fn head_metadata(
        &self,
        bucket: &str,
        key: &str,
    ) -> Option<(Option<String>, HashMap<String, String>)> {
        let c = self.client.clone();
        let r = self.block(async move { c.head_object().bucket(bucket).key(key).send().await });
        match r {
            Ok(out) => Some((
                out.content_type().map(str::to_string),
                out.metadata().cloned().unwrap_or_default(),
            )),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => None,
            Err(e) => self.fail(&format!("HeadObject {bucket}/{key}"), e),
        }
    }

    /// Every key in `bucket` starting with `prefix`, in the server's order
    /// (lexicographic), following ListObjectsV2 pagination.
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.list_pages(bucket, prefix, None)
    }

    /// [`S3Server::list`] with at most `page_size` keys per ListObjectsV2 page
    /// (to exercise pagination with few objects).
    pub fn list_paged(&self, bucket: &str, prefix: &str, page_size: i32) -> Vec<String> {
        self.list_pages(bucket, prefix, Some(page_size))
    }

    fn list_pages(&self, bucket: &str, prefix: &str, page_size: Option<i32>) -> Vec<String> {
        let c = self.client.clone();
        let r = self.block(async move {
            let mut keys = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let out = c
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .set_max_keys(page_size)
                    .set_continuation_token(token.take())
                    .send()
                    .await?;
                keys.extend(
                    out.contents()
                        .iter()
                        .filter_map(|o| o.key().map(str::to_string)),
                );
                match out.next_continuation_token() {
                    Some(t) if out.is_truncated() == Some(true) => token = Some(t.to_string()),
                    _ => return Ok::<_, aws_sdk_s3::Error>(keys),
                }
            }
        });
        r.unwrap_or_else(|e| self.fail(&format!("ListObjectsV2 {bucket}/{prefix}*"), e))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
        if let Some(rt) = self.rt.take() {
            // A runtime must not be dropped from async context; a plain thread is
            // always fine.
            let _ = std::thread::spawn(move || drop(rt)).join();
        }
    }
}

/// The SDK client used by the helpers (and returned by [`S3Server::client`]).
fn make_client(endpoint: &str) -> Client {
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "static",
        ))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(30))
                .build(),
        )
        .build();
    Client::from_conf(conf)
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0 to find a free port")
}

/// `moto_server` on `PATH`, if any.
fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn spawn_moto(port: u16, log_path: &Path) -> Result<Child, String> {
    let log = File::create(log_path)
        .map_err(|e| format!("cannot create moto log {}: {e}", log_path.display()))?;
    let log2 = log.try_clone().expect("clone log file handle");
    let port_s = port.to_string();
    let mut cmd = match find_on_path("moto_server") {
        Some(bin) => {
            let mut c = Command::new(bin);
            c.args(["-H", "127.0.0.1", "-p", &port_s]);
            c
        }
        None => {
            let mut c = Command::new("python3");
            c.args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port_s]);
            c
        }
    };
    cmd.stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .env("PYTHONUNBUFFERED", "1")
        .process_group(0);
    cmd.spawn().map_err(|e| {
        format!(
            "cannot start moto ({cmd:?}): {e}; is moto installed? install it with: {MOTO_INSTALL}"
        )
    })
}

/// Whether something at `addr` answers a `GET /` with an HTTP status line.
fn http_answers(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    let mut got = 0;
    while got < buf.len() {
        match s.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    buf[..got].starts_with(b"HTTP/1.")
}

fn log_tail(path: &Path, max: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}
