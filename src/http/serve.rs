//! The listener loop: accepts connections and serves the router on each with hyper's HTTP/1 connection, which —
//! unlike `axum::serve` (axum 0.8 sets no timer, so hyper's header-read timeout never runs) — closes a connection
//! that does not send a request's headers within the header timeout: a silent connection, a slow-loris one that
//! trickles its headers a byte at a time, and a kept-alive one idle between requests alike (hyper starts the timer
//! whenever it waits for a request head, `hyper::server::conn::http1::Builder::header_read_timeout`). The probe of
//! issue 22 held 500 such connections for a minute; now each lasts at most the timeout.
//!
//! Each request gets the peer's address as `ConnectInfo`, as `into_make_service_with_connect_info` would give it
//! (the rate limits and the sign-in throttle read it). At shutdown the loop stops accepting, idle connections
//! close at once, and requests in flight finish (hyper-util's `GracefulShutdown`).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower::Service;

/// Serves `router` on `listener` until `shutdown` resolves, then waits for the requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little instead of spinning (axum does the same).
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            let mut router = router.clone();
            async move { router.call(request.map(axum::body::Body::new)).await }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let watched = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = watched.await {
                tracing::debug!(error = %e, %peer, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
