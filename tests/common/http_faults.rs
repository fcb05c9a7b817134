#![allow(dead_code)]
//! A fault-injecting HTTP/1.1 server on loopback for network tests.
//!
//! [`FaultServer`] listens on `127.0.0.1:<ephemeral port>` with one OS thread per
//! connection and a hand-written HTTP/1.1 parser (request line + headers; request
//! bodies are ignored). Every response carries `Connection: close` and the server
//! closes the connection after one exchange, so each request is one connection
//! and one hit.
//!
//! Each route (an exact path such as `"/ok.mp4"`) has a [`Behaviour`]; unknown
//! paths get `404`. `GET` and `HEAD` are supported (other methods get `405`); a
//! `HEAD` gets exactly the status line and headers the `GET` would get, without
//! the body, and counts as a hit like a `GET` (so it also advances the
//! per-route counters of [`Behaviour::FailThenServe`] / [`Behaviour::RetryAfter`]).
//!
//! Matching uses the request path with the query string removed and
//! percent-escapes decoded (`/a%20b.mp4?x=1` matches the route `"/a b.mp4"`).
//! [`FaultServer::hits`] / [`FaultServer::hit_times`] are keyed the same way and
//! record every request whose headers were read completely, including 404s;
//! the time recorded is the moment the request head was fully read, before the
//! behaviour runs (so a [`Behaviour::SlowFirstByte`] delay is not in it).
//!
//! Dropping the server stops it: the listener closes (new connections are
//! refused), and every connection thread ends promptly — all sleeps, reads and
//! writes poll a shutdown flag at short intervals — and is joined before `drop`
//! returns. A client that disconnects mid-response never panics a server
//! thread: write errors just end that connection.

use std::collections::HashMap;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often blocked reads, writes and sleeps look at the shutdown flag.
const POLL: Duration = Duration::from_millis(20);
/// Largest request head (request line + headers) accepted; larger gets `431`.
const MAX_HEAD: usize = 64 * 1024;
/// Chunk size used when streaming files.
const FILE_CHUNK: usize = 64 * 1024;
/// How long, after a complete response, the server waits for the client to close
/// its side before closing the socket (avoids a reset that could discard data
/// the client has not read yet).
const LINGER: Duration = Duration::from_secs(2);

/// What the server does for one route. Bodies are shared (`Arc<[u8]>`) so the
/// same bytes can be served many times without copies; build one with
/// `Arc::from(vec)` or `Arc::from(&b"..."[..])`.
///
/// Every variant's responses include `Connection: close`; unless stated
/// otherwise a body-carrying response has `Content-Type: video/mp4` and a
/// correct `Content-Length`, and the socket is closed after the body.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// `200` with the bytes, `Content-Length` = `body.len()`,
    /// `Content-Type: video/mp4`.
    Serve(Arc<[u8]>),
    /// `200` with the file's current contents, read at every request and streamed
    /// in 64 KiB chunks; `Content-Length` is the file's size when the request
    /// arrives. `Content-Type` comes from the extension (`mp4`/`m4v` →
    /// `video/mp4`, `mov` → `video/quicktime`, `webm` → `video/webm`,
    /// `mkv` → `video/x-matroska`, anything else `application/octet-stream`).
    /// A file that cannot be opened gives `404`.
    ServeFile(PathBuf),
    /// Sleeps `delay` after reading the request and before writing anything (not
    /// even the status line), then behaves like [`Behaviour::Serve`].
    SlowFirstByte { delay: Duration, body: Arc<[u8]> },
    /// Sends the `200` headers (full, correct `Content-Length`) and the first
    /// `after` bytes of `body` (all of it if shorter), sleeps `stall`, then sends
    /// the rest if the client is still connected.
    StallMidBody {
        after: usize,
        stall: Duration,
        body: Arc<[u8]>,
    },
    /// Sends the `200` headers with the full `Content-Length` (`body.len()`) and
    /// the first `after` bytes of `body`, then shuts the socket down (both
    /// directions) and closes it: the client sees a truncated body.
    DropMidBody { after: usize, body: Arc<[u8]> },
    /// The route's first `statuses.len()` requests get those statuses, in order,
    /// each with a small `text/plain` body (`"injected failure <status>\n"`);
    /// every later request gets `200` + `body` like [`Behaviour::Serve`]. The
    /// counter is per route and counts `HEAD` requests too.
    FailThenServe { statuses: Vec<u16>, body: Arc<[u8]> },
    /// The route's first `times` requests get `status` (e.g. `429` or `503`) with
    /// `Retry-After: <seconds>` and a small `text/plain` body; every later
    /// request gets `200` + `body` like [`Behaviour::Serve`] (no `Retry-After`).
    RetryAfter {
        status: u16,
        seconds: u64,
        times: usize,
        body: Arc<[u8]>,
    },
    /// Always that status with a small `text/plain` body (`"status <code>\n"`).
    Status(u16),
    /// `302 Found` with `Location: <the string, verbatim>` (relative or absolute)
    /// and an empty body. A loop is two routes redirecting to each other, or one
    /// redirecting to itself.
    Redirect(String),
    /// `200` whose `Content-Length` header claims `length` bytes (e.g. far over a
    /// size limit); then writes `body` (which may be shorter, or empty) and closes.
    /// With `length > body.len()` the client sees a truncated body.
    AdvertiseLength { length: u64, body: Arc<[u8]> },
    /// `Content-Length` claims `claim` bytes, which is *less* than `body.len()`,
    /// but the server writes the whole `body` and then closes. A conforming client
    /// reads exactly `claim` bytes and ignores (or errors on) the excess.
    LieShort { claim: u64, body: Arc<[u8]> },
    /// `Content-Length` claims `claim` bytes, *more* than `body.len()`; the server
    /// writes the whole `body` and closes: a truncated body the client must detect.
    LieLong { claim: u64, body: Arc<[u8]> },
    /// `200` with `Transfer-Encoding: chunked` and no `Content-Length`; `body` is
    /// sent in chunks of `chunk` bytes (the last may be shorter; `chunk == 0` is
    /// treated as 1) followed by the terminating zero-length chunk.
    Chunked { body: Arc<[u8]>, chunk: usize },
    /// Reads the request and writes nothing until the test opens `gate` (the same
    /// gate may hold several routes), then behaves like [`Behaviour::Serve`]. For
    /// tests that need a request to be in flight at a moment of their choosing:
    /// unlike a delay, a gate holds however slow the machine is.
    Gated { gate: Gate, body: Arc<[u8]> },
    /// Reads the request and never answers: holds the connection open, silent,
    /// until the server is dropped (then closes it). For first-byte / read
    /// timeouts.
    Hang,
}

/// Holds the answers of [`Behaviour::Gated`] routes until [`Gate::open`]. Clones
/// share one gate. A held connection still ends promptly when the server drops.
#[derive(Debug, Clone, Default)]
pub struct Gate(Arc<AtomicBool>);

impl Gate {
    /// A closed gate.
    pub fn new() -> Gate {
        Gate::default()
    }

    /// Lets every held and every later request of its routes be answered.
    pub fn open(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn is_open(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Per-route state shared by connection threads.
struct Route {
    behaviour: Behaviour,
}

/// State shared between the server handle, the accept thread and connection threads.
struct Shared {
    routes: HashMap<String, Route>,
    /// Request instants per (decoded, query-less) path, including unknown paths.
    hits: Mutex<HashMap<String, Vec<Instant>>>,
    shutdown: AtomicBool,
    /// Connection threads that panicked (a bug in this helper).
    panics: AtomicUsize,
    /// Clones of open connections, shut down on drop so blocked peers see EOF.
    open: Mutex<HashMap<u64, TcpStream>>,
    /// Connections accepted (before any byte is read).
    accepted: AtomicUsize,
}

/// A running fault-injecting HTTP/1.1 server; see the module docs. Stops on drop.
pub struct FaultServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl FaultServer {
    /// Starts a server on `127.0.0.1:0` with the given routes (path → behaviour),
    /// e.g. `FaultServer::start([("/ok.mp4", Behaviour::Serve(bytes))])` or a
    /// `HashMap<String, Behaviour>`. Paths must start with `/`. Panics if the
    /// socket cannot be bound.
    pub fn start<I, S>(routes: I) -> FaultServer
    where
        I: IntoIterator<Item = (S, Behaviour)>,
        S: Into<String>,
    {
        let routes: HashMap<String, Route> = routes
            .into_iter()
            .map(|(p, behaviour)| {
                let p = p.into();
                assert!(p.starts_with('/'), "route {p:?} must start with '/'");
                (p, Route { behaviour })
            })
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let shared = Arc::new(Shared {
            routes,
            hits: Mutex::new(HashMap::new()),
            shutdown: AtomicBool::new(false),
            panics: AtomicUsize::new(0),
            open: Mutex::new(HashMap::new()),
            accepted: AtomicUsize::new(0),
        });
        let s = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name(format!("fault-server-{}", addr.port()))
            .spawn(move || accept_loop(listener, s))
            .expect("spawn accept thread");
        FaultServer {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// Serves every regular file directly inside `dir` (not recursive) at
    /// `/<file name>` with [`Behaviour::ServeFile`] (read per request, streamed).
    /// Panics if `dir` cannot be listed.
    pub fn serve_dir(dir: &Path) -> FaultServer {
        let entries = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("serve_dir: cannot list {}: {e}", dir.display()));
        let routes: Vec<(String, Behaviour)> = entries
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.is_file())
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (format!("/{name}"), Behaviour::ServeFile(p))
            })
            .collect();
        FaultServer::start(routes)
    }

    /// `http://127.0.0.1:PORT` followed by `path` (which should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The bound address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Number of requests received for `path` (decoded, without query), whatever
    /// the method or outcome.
    pub fn hits(&self, path: &str) -> usize {
        self.hit_times(path).len()
    }

    /// Arrival instants (request head fully read) of every request for `path`,
    /// oldest first.
    pub fn hit_times(&self, path: &str) -> Vec<Instant> {
        self.shared
            .hits
            .lock()
            .unwrap()
            .get(path)
            .cloned()
            .unwrap_or_default()
    }

    /// Number of connection threads that panicked so far (should always be 0;
    /// the self-tests check it).
    pub fn thread_panics(&self) -> usize {
        self.shared.panics.load(Ordering::SeqCst)
    }

    /// Number of TCP connections accepted so far, whether or not a request followed.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Total number of requests received on all paths.
    pub fn total_hits(&self) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .values()
            .map(Vec::len)
            .sum()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // Unblock `accept`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        // Wake connections blocked on the peer.
        for s in self.shared.open.lock().unwrap().values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut workers: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id = 0u64;
    for conn in listener.incoming() {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = conn else { continue };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        workers.retain(|h| !h.is_finished());
        let id = next_id;
        next_id += 1;
        if let Ok(clone) = stream.try_clone() {
            shared.open.lock().unwrap().insert(id, clone);
        }
        let s = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name(format!("fault-conn-{id}"))
            .spawn(move || {
                let run = std::panic::AssertUnwindSafe(|| handle_connection(stream, &s));
                if std::panic::catch_unwind(run).is_err() {
                    s.panics.fetch_add(1, Ordering::SeqCst);
                }
                s.open.lock().unwrap().remove(&id);
            });
        if let Ok(h) = spawned {
            workers.push(h);
        }
    }
    drop(listener);
    for s in shared.open.lock().unwrap().values() {
        let _ = s.shutdown(Shutdown::Both);
    }
    for h in workers {
        let _ = h.join();
    }
}

/// Connection-level I/O that gives up as soon as the server shuts down.
struct Conn<'a> {
    stream: TcpStream,
    shared: &'a Shared,
}

/// Outcome of an I/O step: `Err(())` means stop handling this connection
/// (peer gone, I/O error, or server shutting down).
type Step = Result<(), ()>;

impl Conn<'_> {
    fn stopping(&self) -> bool {
        self.shared.shutdown.load(Ordering::SeqCst)
    }

    /// Writes all of `buf`, retrying on timeouts until done, an error, or shutdown.
    fn write(&mut self, mut buf: &[u8]) -> Step {
        while !buf.is_empty() {
            if self.stopping() {
                return Err(());
            }
            match self.stream.write(buf) {
                Ok(0) => return Err(()),
                Ok(n) => buf = &buf[n..],
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return Err(()),
            }
        }
        Ok(())
    }

    /// Sleeps `d`, waking early (with `Err`) if the server shuts down.
    fn sleep(&self, d: Duration) -> Step {
        let end = Instant::now() + d;
        loop {
            if self.stopping() {
                return Err(());
            }
            let now = Instant::now();
            if now >= end {
                return Ok(());
            }
            std::thread::sleep((end - now).min(POLL));
        }
    }

    /// Reads the request head (up to and including the blank line).
    /// `Ok(None)`: the peer closed before sending a complete head.
    fn read_head(&mut self) -> Result<Option<Vec<u8>>, ()> {
        let mut buf = Vec::with_capacity(1024);
        let mut tmp = [0u8; 4096];
        loop {
            if self.stopping() {
                return Err(());
            }
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                buf.truncate(end + 4);
                return Ok(Some(buf));
            }
            if buf.len() > MAX_HEAD {
                return Ok(Some(buf)); // parse will reject it
            }
            match self.stream.read(&mut tmp) {
                Ok(0) => return Ok(None),
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return Err(()),
            }
        }
    }

    /// Blocks until the peer closes or the server shuts down (used by `Hang`).
    fn wait_for_peer_close_or_shutdown(&mut self, limit: Option<Duration>) {
        let start = Instant::now();
        let mut tmp = [0u8; 4096];
        while !self.stopping() {
            if limit.is_some_and(|l| start.elapsed() >= l) {
                return;
            }
            match self.stream.read(&mut tmp) {
                Ok(0) => return,
                Ok(_) => {} // discard (request bodies, pipelined junk)
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    }

    /// Writes a status line and headers (always with `Connection: close`).
    fn head(&mut self, status: u16, headers: &[(&str, String)]) -> Step {
        let mut s = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (k, v) in headers {
            s.push_str(k);
            s.push_str(": ");
            s.push_str(v);
            s.push_str("\r\n");
        }
        s.push_str("Connection: close\r\n\r\n");
        self.write(s.as_bytes())
    }

    /// A complete response with `body` and a correct `Content-Length`; for `HEAD`
    /// only the head.
    fn full(
        &mut self,
        is_head: bool,
        status: u16,
        ctype: &str,
        extra: &[(&str, String)],
        body: &[u8],
    ) -> Step {
        let mut h: Vec<(&str, String)> = vec![
            ("Content-Type", ctype.to_string()),
            ("Content-Length", body.len().to_string()),
        ];
        h.extend(extra.iter().cloned());
        self.head(status, &h)?;
        if !is_head {
            self.write(body)?;
        }
        Ok(())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Decodes `%XX` escapes (invalid escapes are kept literally).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        410 => "Gone",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn content_type_for(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        _ => "application/octet-stream",
    }
}

fn handle_connection(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(POLL));
    let _ = stream.set_write_timeout(Some(POLL));
    let _ = stream.set_nodelay(true);
    let mut c = Conn { stream, shared };
    let Ok(Some(head)) = c.read_head() else {
        return;
    };
    let arrived = Instant::now();
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next().unwrap_or("");
    let mut parts = line.split(' ');
    let (method, target, version) = (parts.next(), parts.next(), parts.next());
    let (Some(method), Some(target), Some(version)) = (method, target, version) else {
        let _ = c.full(false, 400, "text/plain", &[], b"bad request line\n");
        finish(&mut c);
        return;
    };
    if head.len() > MAX_HEAD || !version.starts_with("HTTP/1.") {
        let _ = c.full(
            false,
            if head.len() > MAX_HEAD { 431 } else { 400 },
            "text/plain",
            &[],
            b"bad request\n",
        );
        finish(&mut c);
        return;
    }
    // Absolute-form targets (proxies) are reduced to their path.
    let target = target
        .strip_prefix("http://")
        .map(|rest| rest.find('/').map_or("/", |i| &rest[i..]))
        .unwrap_or(target);
    let raw_path = target.split(['?', '#']).next().unwrap_or("/");
    let path = percent_decode(raw_path);
    let nth = {
        let mut hits = shared.hits.lock().unwrap();
        let v = hits.entry(path.clone()).or_default();
        v.push(arrived);
        v.len() - 1 // 0-based index of this request on this path
    };
    let is_head = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            let _ = c.full(
                false,
                405,
                "text/plain",
                &[("Allow", "GET, HEAD".into())],
                b"method not allowed\n",
            );
            finish(&mut c);
            return;
        }
    };
    let Some(route) = shared.routes.get(&path) else {
        let _ = c.full(is_head, 404, "text/plain", &[], b"not found\n");
        finish(&mut c);
        return;
    };
    if respond(&mut c, &route.behaviour, is_head, nth).is_ok() {
        finish(&mut c);
    }
    // On Err the connection is dropped (closed) as is.
}

/// Lingering close after a complete response: stop sending, wait (bounded) for
/// the client to close, then drop.
fn finish(c: &mut Conn<'_>) {
    let _ = c.stream.flush();
    let _ = c.stream.shutdown(Shutdown::Write);
    c.wait_for_peer_close_or_shutdown(Some(LINGER));
}

fn ok_headers(len: u64) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "video/mp4".to_string()),
        ("Content-Length", len.to_string()),
    ]
}

/// Runs `behaviour`. `Ok` = a complete response was written (caller lingers
/// and closes); `Err` = the behaviour already ended the connection or I/O failed.
fn respond(c: &mut Conn<'_>, behaviour: &Behaviour, is_head: bool, nth: usize) -> Step {
    match behaviour {
        Behaviour::Serve(body) => c.full(is_head, 200, "video/mp4", &[], body),
        Behaviour::ServeFile(path) => {
            let Ok(mut f) = File::open(path) else {
                return c.full(is_head, 404, "text/plain", &[], b"not found\n");
            };
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            c.head(
                200,
                &[
                    ("Content-Type", content_type_for(path).to_string()),
                    ("Content-Length", len.to_string()),
                ],
            )?;
            if is_head {
                return Ok(());
            }
            let mut buf = vec![0u8; FILE_CHUNK];
            let mut left = len;
            while left > 0 {
                let want = (left.min(FILE_CHUNK as u64)) as usize;
                match f.read(&mut buf[..want]) {
                    Ok(0) | Err(_) => return Err(()), // file shrank: truncated body
                    Ok(n) => {
                        c.write(&buf[..n])?;
                        left -= n as u64;
                    }
                }
            }
            Ok(())
        }
        Behaviour::SlowFirstByte { delay, body } => {
            c.sleep(*delay)?;
            c.full(is_head, 200, "video/mp4", &[], body)
        }
        Behaviour::StallMidBody { after, stall, body } => {
            c.head(200, &ok_headers(body.len() as u64))?;
            if is_head {
                return Ok(());
            }
            let cut = (*after).min(body.len());
            c.write(&body[..cut])?;
            c.sleep(*stall)?;
            c.write(&body[cut..])
        }
        Behaviour::DropMidBody { after, body } => {
            c.head(200, &ok_headers(body.len() as u64))?;
            if is_head {
                return Ok(());
            }
            let cut = (*after).min(body.len());
            c.write(&body[..cut])?;
            let _ = c.stream.flush();
            let _ = c.stream.shutdown(Shutdown::Both);
            Err(())
        }
        Behaviour::FailThenServe { statuses, body } => match statuses.get(nth) {
            Some(&status) => {
                let msg = format!("injected failure {status}\n");
                c.full(is_head, status, "text/plain", &[], msg.as_bytes())
            }
            None => c.full(is_head, 200, "video/mp4", &[], body),
        },
        Behaviour::RetryAfter {
            status,
            seconds,
            times,
            body,
        } => {
            if nth < *times {
                let msg = format!("retry after {seconds} s\n");
                c.full(
                    is_head,
                    *status,
                    "text/plain",
                    &[("Retry-After", seconds.to_string())],
                    msg.as_bytes(),
                )
            } else {
                c.full(is_head, 200, "video/mp4", &[], body)
            }
        }
        Behaviour::Status(status) => {
            let msg = format!("status {status}\n");
            c.full(is_head, *status, "text/plain", &[], msg.as_bytes())
        }
        Behaviour::Redirect(location) => c.head(
            302,
            &[
                ("Location", location.clone()),
                ("Content-Length", "0".to_string()),
            ],
        ),
        Behaviour::AdvertiseLength { length, body }
        | Behaviour::LieShort {
            claim: length,
            body,
        }
        | Behaviour::LieLong {
            claim: length,
            body,
        } => {
            c.head(200, &ok_headers(*length))?;
            if !is_head {
                c.write(body)?;
            }
            Ok(())
        }
        Behaviour::Chunked { body, chunk } => {
            c.head(
                200,
                &[
                    ("Content-Type", "video/mp4".to_string()),
                    ("Transfer-Encoding", "chunked".to_string()),
                ],
            )?;
            if is_head {
                return Ok(());
            }
            for piece in body.chunks((*chunk).max(1)) {
                c.write(format!("{:x}\r\n", piece.len()).as_bytes())?;
                c.write(piece)?;
                c.write(b"\r\n")?;
            }
            c.write(b"0\r\n\r\n")
        }
        Behaviour::Gated { gate, body } => {
            while !gate.is_open() {
                c.sleep(POLL)?;
            }
            c.full(is_head, 200, "video/mp4", &[], body)
        }
        Behaviour::Hang => {
            // Hold the connection open and silent until the server drops (or the
            // client gives up and closes).
            c.wait_for_peer_close_or_shutdown(None);
            Err(())
        }
    }
}
