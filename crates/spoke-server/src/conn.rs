//! spoke's own accept loop: HTTP/1.1 connections served by hyper with the limits a
//! production server needs against slow or hostile clients (issue 18, defects 2 and 9).
//!
//! - **TLS** (`spoke serve --https-listen`): the handshake runs in the connection's own
//!   task, after its slot is taken, and must end within the header timeout (a client that
//!   stalls mid-handshake is a slowloris like any other); a failed or timed-out handshake
//!   closes the connection quietly, and plain HTTP on the HTTPS port gets a 400 saying
//!   so. Requests on a TLS connection carry a
//!   [`TlsConnection`] extension, so links spoke writes say `https` (`wire::Origin`).
//! - **Header timeout**: hyper's `header_read_timeout`. Its timer starts when a connection
//!   opens and again each time a keep-alive connection goes idle after a response (hyper
//!   1.x `State::idle` re-arms the read), so the same limit bounds both the wait for the
//!   next request and the time to receive its headers: it is also the keep-alive idle
//!   timeout. A connection that hits it is closed without an answer.
//! - **Body timeout**: [`TimeoutBody`], a deadline for the whole body counted from the end of
//!   the headers. A body that is not complete in time fails the handler's body extractor
//!   (so no handler ever acts on a partial body) and the answer becomes a 408 in HubSpot's
//!   envelope with `connection: close`.
//! - **Connection limit**: a semaphore taken *before* `accept`, so when every slot is in use
//!   new clients wait in the kernel's listen backlog instead of being accepted and starved.
//! - **Bounded buffers**: hyper's read buffer, header size and header count limits.
//! - **Protocol errors in HubSpot's envelope**: [`Io`], see there.
//!
//! Graceful shutdown: on `shutdown`, stop accepting, tell every connection to finish its
//! in-flight request and close, then return once all have closed.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use axum::http::{Request, Response, StatusCode};
use axum::Router;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;

use crate::wire::{CORRELATION_HEADER, JSON_CONTENT_TYPE};

/// Connection limits. `Default` gives the production values `spoke serve` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimits {
    /// Longest wait for a request's complete headers, counted from when the connection
    /// opens or its previous response was sent (so also the keep-alive idle timeout); on
    /// an HTTPS listener also the longest a TLS handshake may take, before that.
    /// `None`: no limit.
    pub header_timeout: Option<Duration>,
    /// Longest time to receive a request body, counted from the end of its headers.
    /// `None`: no limit.
    pub body_timeout: Option<Duration>,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Request line plus headers, in bytes (larger: 431).
    pub max_header_bytes: usize,
    /// Number of request headers (more: 431).
    pub max_headers: usize,
    /// hyper's per-connection read and write buffer bound, in bytes.
    pub max_buf_bytes: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            header_timeout: Some(Duration::from_secs(30)),
            body_timeout: Some(Duration::from_secs(60)),
            max_connections: 1024,
            // hyper answers 414 to a URI over 64 KiB only once the whole head is parsed;
            // 16 KiB of headers on top keeps a long URI a 414 rather than a 431.
            max_header_bytes: 80 * 1024,
            max_headers: 100,
            max_buf_bytes: 96 * 1024,
        }
    }
}

/// hyper refuses (panics on) a smaller `max_buf_size`.
const MIN_BUF_BYTES: usize = 8192;

/// Resolves when the process is asked to stop: Ctrl-C, or SIGTERM on Unix. `spoke serve`
/// passes it as `shutdown`; `spoke-bench` waits on it to stop the server it started.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Where connections come in: plain HTTP, HTTPS, or both. Both serve the same app under
/// one set of [`ConnLimits`] (one connection budget for the two).
#[derive(Default)]
pub struct Listeners {
    pub http: Option<TcpListener>,
    pub https: Option<(TcpListener, Arc<rustls::ServerConfig>)>,
}

/// A request came over TLS (set by the accept loop on every request of an HTTPS
/// connection).
#[derive(Debug, Clone)]
pub struct TlsConnection {
    /// The name the client asked for in the handshake (SNI), if it sent one.
    pub server_name: Option<Arc<str>>,
}

/// Accepts on `listener`, or waits forever when there is none.
async fn accept_on(listener: Option<&TcpListener>) -> io::Result<TcpStream> {
    match listener {
        Some(l) => l.accept().await.map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}

/// Serves `router` on `listeners` with `limits` until `shutdown` resolves, then lets
/// in-flight requests finish.
pub(crate) async fn serve(
    listeners: Listeners,
    router: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let http = listeners.http;
    let https = listeners
        .https
        .map(|(listener, config)| (listener, TlsAcceptor::from(config)));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_buf_bytes.max(MIN_BUF_BYTES))
        .max_header_size(limits.max_header_bytes)
        .max_headers(limits.max_headers);
    let builder = Arc::new(builder);
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    // Each connection holds a receiver: `closed()` on the sender resolves once all are gone.
    let (stop_tx, stop_rx) = watch::channel(());
    tokio::pin!(shutdown);

    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        // Unbiased between the two listeners (tokio picks a random first branch), so a
        // flood on one cannot starve the other; shutdown still comes first.
        let either = async {
            tokio::select! {
                r = accept_on(http.as_ref()) => (r, None),
                r = accept_on(https.as_ref().map(|(l, _)| l)) => {
                    (r, https.as_ref().map(|(_, acceptor)| acceptor.clone()))
                }
            }
        };
        let (accepted, tls) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            r = either => r,
        };
        let stream = match accepted {
            Ok(stream) => stream,
            Err(e) => {
                accept_error(e).await;
                continue;
            }
        };
        // Responses are written head and body at once; Nagle would only add latency.
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            builder: builder.clone(),
            router: router.clone(),
            body_timeout: limits.body_timeout,
            stop: stop_rx.clone(),
        };
        let handshake_timeout = limits.header_timeout;
        tokio::spawn(async move {
            match tls {
                None => conn.run(stream, None).await,
                Some(acceptor) => conn.run_tls(stream, acceptor, handshake_timeout).await,
            }
            drop(permit);
        });
    }

    drop(http);
    drop(https);
    drop(stop_rx);
    let _ = stop_tx.send(());
    stop_tx.closed().await;
    Ok(())
}

/// Out of descriptors (EMFILE) and the like: pause rather than spin; a client that gave
/// up before we accepted it is no reason to wait.
async fn accept_error(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!(error = %e, "accept failed; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

struct Connection {
    builder: Arc<http1::Builder>,
    router: Router,
    body_timeout: Option<Duration>,
    stop: watch::Receiver<()>,
}

impl Connection {
    /// The TLS handshake, then HTTP over it. A client that fails the handshake (a CA it
    /// does not trust, garbage) or stalls in it is dropped: there is no HTTP connection yet
    /// to answer on. One that sends plain HTTP is answered in plain HTTP.
    async fn run_tls(
        mut self,
        stream: TcpStream,
        acceptor: TlsAcceptor,
        timeout: Option<Duration>,
    ) {
        let handshake = async {
            // A TLS client speaks first with a handshake record (0x16); a request line
            // starts with an upper-case method. That one gets an answer it can show.
            let mut first = [0u8; 1];
            if stream.peek(&mut first).await? == 1 && first[0].is_ascii_uppercase() {
                return Ok(Err(stream));
            }
            acceptor.accept(stream).await.map(Ok)
        };
        let limited = async {
            match timeout {
                Some(t) => tokio::time::timeout(t, handshake)
                    .await
                    .unwrap_or_else(|_| Err(io::ErrorKind::TimedOut.into())),
                None => handshake.await,
            }
        };
        let stream = tokio::select! {
            r = limited => match r {
                Ok(Ok(stream)) => stream,
                Ok(Err(plain)) => return plain_http_on_tls_port(plain).await,
                Err(e) => {
                    tracing::debug!(error = %e, "TLS handshake failed");
                    return;
                }
            },
            _ = self.stop.changed() => return,
        };
        let tls = TlsConnection {
            server_name: stream.get_ref().1.server_name().map(Arc::from),
        };
        self.run(stream, Some(tls)).await;
    }

    async fn run<S>(mut self, stream: S, tls: Option<TlsConnection>)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let state = Arc::new(ConnState::default());
        let service = Service {
            inner: TowerToHyperService::new(self.router),
            body_timeout: self.body_timeout,
            state,
            tls,
        };
        let conn = self
            .builder
            .serve_connection(TokioIo::new(Io::new(stream)), service);
        tokio::pin!(conn);
        let result = tokio::select! {
            r = conn.as_mut() => r,
            _ = self.stop.changed() => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            // Timeouts, resets and malformed requests are the client's business.
            tracing::debug!(error = %e, "connection closed with an error");
        }
    }
}

/// A plain-HTTP request on the HTTPS port (`http://host:443/…`): a 400 in HubSpot's
/// envelope saying so, instead of a TLS alert that clients report as a garbled answer. The
/// request is not read; as after hyper's own rejections, the connection lingers a moment
/// reading what the client still sends, so closing it does not reset the answer away.
async fn plain_http_on_tls_port(mut stream: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let id = uuid::Uuid::now_v7().to_string();
    let body = envelope_with(
        &id,
        "This port serves HTTPS; the request was sent as plain HTTP",
    );
    let head = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: {JSON_CONTENT_TYPE}\r\n{CORRELATION_HEADER}: {id}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let mut answer = head.into_bytes();
    answer.extend_from_slice(&body);
    if stream.write_all(&answer).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut scratch = [0u8; 4096];
    let mut drained = 0;
    let _ = tokio::time::timeout(LINGER, async {
        while drained < LINGER_BYTES {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    })
    .await;
}

/// What a request learns about its connection. HTTP/1.1 serves one request at a time per
/// connection, so one flag per connection is enough.
#[derive(Default)]
struct ConnState {
    body_timed_out: AtomicBool,
}

/// The router as hyper's service, with the body deadline.
struct Service {
    inner: TowerToHyperService<Router>,
    body_timeout: Option<Duration>,
    state: Arc<ConnState>,
    tls: Option<TlsConnection>,
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Service {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, mut req: Request<Incoming>) -> Self::Future {
        if let Some(tls) = &self.tls {
            req.extensions_mut().insert(tls.clone());
        }
        let Some(timeout) = self.body_timeout else {
            return Box::pin(hyper::service::Service::call(
                &self.inner,
                req.map(TimeoutBody::unlimited),
            ));
        };
        let deadline = Instant::now() + timeout;
        let state = self.state.clone();
        let req = req.map(|body| TimeoutBody::new(body, deadline, state.clone()));
        let answer = hyper::service::Service::call(&self.inner, req);
        Box::pin(async move {
            let res = answer.await?;
            if state.body_timed_out.swap(false, Ordering::Relaxed) {
                return Ok(body_timeout_response(&res));
            }
            Ok(res)
        })
    }
}

/// The router's answer to a failed body read is a 400 with the request's correlation id;
/// the client was too slow rather than wrong, so it becomes a 408 with the same id, and the
/// connection closes (the rest of the body is not worth waiting for).
fn body_timeout_response(res: &Response<Body>) -> Response<Body> {
    let id = res
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let status = StatusCode::REQUEST_TIMEOUT;
    let mut out = Response::new(Body::from(envelope(status, &id)));
    *out.status_mut() = status;
    let headers = out.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(&id) {
        headers.insert(CORRELATION_HEADER, v);
    }
    headers.insert(CONNECTION, HeaderValue::from_static("close"));
    out
}

/// HubSpot's error envelope for the answers this module writes itself; everything a
/// handler or extractor rejects goes through [`crate::ApiError`] and the wire middleware.
fn envelope(status: StatusCode, correlation_id: &str) -> Vec<u8> {
    let message = match status {
        StatusCode::REQUEST_TIMEOUT => "The request body was not received in time",
        StatusCode::URI_TOO_LONG => "The request URI is too long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "The request headers are too large",
        _ => "The request could not be parsed as HTTP/1.1",
    };
    envelope_with(correlation_id, message)
}

fn envelope_with(correlation_id: &str, message: &str) -> Vec<u8> {
    let body = spoke_types::error::Error {
        status: "error",
        message: message.to_owned(),
        error_type: None,
        correlation_id: correlation_id.to_owned(),
        policy_name: None,
        errors: Vec::new(),
        context: Default::default(),
        links: Default::default(),
        category: Some(crate::error::Category::ValidationError.as_str().to_owned()),
        sub_category: None,
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A request body with a deadline. The timer is created only if the body is not already
/// there when first read, so requests whose body came with the headers pay nothing for it.
struct TimeoutBody {
    inner: Incoming,
    deadline: Option<(Instant, Arc<ConnState>)>,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl TimeoutBody {
    fn new(inner: Incoming, deadline: Instant, state: Arc<ConnState>) -> Self {
        Self {
            inner,
            deadline: Some((deadline, state)),
            sleep: None,
        }
    }

    fn unlimited(inner: Incoming) -> Self {
        Self {
            inner,
            deadline: None,
            sleep: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("request body not received in time")]
struct BodyTimedOut;

impl http_body::Body for TimeoutBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        let Some((deadline, state)) = &this.deadline else {
            return Poll::Pending;
        };
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(*deadline)));
        ready!(sleep.as_mut().poll(cx));
        state.body_timed_out.store(true, Ordering::Relaxed);
        Poll::Ready(Some(Err(BodyTimedOut.into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket as hyper sees it, so that hyper's own error answers leave in HubSpot's
/// envelope.
///
/// hyper answers a request it cannot parse (malformed request line or header: 400; URI
/// over 64 KiB: 414; headers over the size or count limit: 431) by itself, before any
/// service runs, with an empty body, and then closes the connection; it offers no hook to
/// change that answer. What it does offer is the socket: such an answer is always one
/// complete head with nothing after it (`HTTP/1.1 4xx ...` up to the blank line), and it is
/// the only head spoke ever writes without `x-hubspot-correlation-id` (the wire middleware
/// puts one on every response). No response *body* can be mistaken for it either: bodies
/// are compact JSON (where CR and LF are always escaped) or `ok`, so none ends in a blank
/// line. So a write that is exactly such a head is replaced by the same status in HubSpot's
/// envelope. On every other write the check is a length test and a few byte compares.
/// If the socket ever took hyper's head in pieces, the piece would not match and hyper's
/// empty answer would go out unchanged: a missed rewrite, never a wrong one.
///
/// After such an answer the client usually still has bytes in flight (the rest of its
/// oversized headers); closing with unread data makes the kernel send a reset, which can
/// destroy the answer before the client reads it. So, as nginx's `lingering_close` does,
/// the connection reads and discards for a moment after sending it.
struct Io<T> {
    inner: T,
    /// The replacement answer still to be sent.
    pending: Bytes,
    /// Set once a replacement was made: linger on shutdown.
    linger: Option<Linger>,
}

struct Linger {
    until: Pin<Box<Sleep>>,
    drained: usize,
    /// Our side of the connection is shut: the client has seen the end of the answer.
    shut: bool,
}

/// How long and how much a rejected connection reads before it closes.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1 << 20;

impl<T> Io<T> {
    fn new(inner: T) -> Self {
        Self {
            inner,
            pending: Bytes::new(),
            linger: None,
        }
    }
}

/// The status of `head` if it is one of hyper's own error answers (see [`Io`]).
fn hyper_error_status(head: &[u8]) -> Option<StatusCode> {
    const MIN: usize = "HTTP/1.1 400 \r\n\r\n".len();
    if head.len() < MIN || !head.starts_with(b"HTTP/1.") || head[8] != b' ' || head[12] != b' ' {
        return None;
    }
    let status = match &head[9..12] {
        b"400" => StatusCode::BAD_REQUEST,
        b"414" => StatusCode::URI_TOO_LONG,
        b"431" => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        _ => return None,
    };
    let ends_head = head.ends_with(b"\r\n\r\n");
    let marked = head
        .windows(CORRELATION_HEADER.len())
        .any(|w| w.eq_ignore_ascii_case(CORRELATION_HEADER.as_bytes()));
    (ends_head && !marked).then_some(status)
}

/// hyper's head with its body replaced by HubSpot's envelope: same status line, same
/// `date`, plus content type, correlation id, length and `connection: close`.
fn replacement(head: &[u8], status: StatusCode) -> Bytes {
    let id = uuid::Uuid::now_v7().to_string();
    let body = envelope(status, &id);
    tracing::debug!(correlation_id = %id, status = status.as_u16(), "rejected a request hyper could not parse");
    let mut out = Vec::with_capacity(head.len() + 160 + body.len());
    let text = &head[..head.len() - 2];
    for line in text.split_inclusive(|b| *b == b'\n') {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with(b"content-length:")
            || lower.starts_with(b"content-type:")
            || lower.starts_with(b"connection:")
        {
            continue;
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(b"content-type: ");
    out.extend_from_slice(JSON_CONTENT_TYPE.as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(CORRELATION_HEADER.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(format!("\r\ncontent-length: {}\r\n", body.len()).as_bytes());
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(&body);
    Bytes::from(out)
}

impl<T: AsyncWrite + Unpin> Io<T> {
    /// Sends what is left of a replacement answer.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.pending.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let _ = self.pending.split_to(n);
        }
        Poll::Ready(Ok(()))
    }

    /// Takes `len` bytes of hyper's in place of the replacement, which goes out now or on
    /// the flush and shutdown hyper always does next.
    fn replace(
        &mut self,
        cx: &mut Context<'_>,
        head: &[u8],
        status: StatusCode,
        len: usize,
    ) -> Poll<io::Result<usize>> {
        self.pending = replacement(head, status);
        self.linger = Some(Linger {
            until: Box::pin(tokio::time::sleep(LINGER)),
            drained: 0,
            shut: false,
        });
        match self.poll_pending(cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(len)),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Io<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Io<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(status) = hyper_error_status(buf) {
            return this.replace(cx, buf, status, buf.len());
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut parts = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(head), None) = (parts.next(), parts.next()) {
            if let Some(status) = hyper_error_status(head) {
                return this.replace(cx, head, status, head.len());
            }
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_pending(cx))?;
        match &mut this.linger {
            None => Pin::new(&mut this.inner).poll_shutdown(cx),
            Some(linger) => {
                if !linger.shut {
                    ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
                    linger.shut = true;
                }
                ready!(this.poll_linger(cx));
                Poll::Ready(Ok(()))
            }
        }
    }
}

impl<T: AsyncRead + Unpin> Io<T> {
    /// Reads and discards until the client closes, [`LINGER`] passes or [`LINGER_BYTES`]
    /// were read; `Pending` only while none of these happened.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(linger) = &mut self.linger else {
            return Poll::Ready(());
        };
        let mut scratch = [0u8; 4096];
        while linger.drained < LINGER_BYTES {
            let mut buf = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if !buf.filled().is_empty() => {
                    linger.drained += buf.filled().len();
                }
                Poll::Ready(_) => break,
                Poll::Pending => {
                    if linger.until.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    break;
                }
            }
        }
        self.linger = None;
        Poll::Ready(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_error_heads_are_recognised_and_spokes_are_not() {
        let hyper = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 01:30:17 GMT\r\n\r\n";
        assert_eq!(
            hyper_error_status(hyper),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json;charset=utf-8\r\nx-hubspot-correlation-id: 1\r\ncontent-length: 2\r\n\r\n";
        assert_eq!(hyper_error_status(ours), None);
        assert_eq!(hyper_error_status(b"HTTP/1.1 200 OK\r\n\r\n"), None);
        assert_eq!(hyper_error_status(b"{\"status\":\"HTTP/1.1 400 x\"}"), None);
        let out = replacement(hyper, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(text.contains("\r\ndate: Sun, 06 Dec 2026 01:30:17 GMT\r\n"));
        assert!(!text.contains("content-length: 0"));
        assert!(text.contains("\"category\":\"VALIDATION_ERROR\""));
    }
}
