//! The public answers as they were last rendered, kept in memory for a few seconds.
//!
//! A public page is the same bytes for everyone until a publication changes, yet rendering it reads the
//! publications, the commune and its public cases from the database: with 200 visitors at once that is the whole
//! cost of the page (BENCHMARKS.md, `public-pages`). Each successful `GET` answer of the public routes is therefore
//! kept by its address, and served again without the database while
//! - nothing was published, withdrawn or redacted on this instance since (`Publications::generation`: those empty
//!   it at once, so a withdrawn wave leaves the pages immediately), and
//! - it is younger than [`KEEP_FOR`]: what changes without a publication (a case answered, fresher scores, a
//!   publication made on another instance) shows within that time, as browsers already keep a page for
//!   `max-age` (60 s) anyway.
//!
//! Only `200 OK` answers are kept (never a 503 "being computed" or an error), and at most [`BUDGET`] bytes of them,
//! the least recently used leaving first, so that photos or addresses made up by a crawler cannot grow the memory.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lru::LruCache;

use crate::services::publication::Publications;

/// How long a rendered answer is served again.
pub const KEEP_FOR: Duration = Duration::from_secs(10);

/// The bytes kept at most: every commune page of a large province in both languages and a few waves (a page is
/// about 20 kB) with room for the open-data files and some photos.
const BUDGET: usize = 64 * 1024 * 1024;

/// The largest answer kept; larger ones are made each time.
const LARGEST: usize = 4 * 1024 * 1024;

/// The rendered public answers of this instance.
pub struct PublicPages {
    publications: Arc<Publications>,
    pages: Mutex<Kept>,
}

/// The answers kept, least recently used first out, and the bytes they hold.
struct Kept {
    pages: LruCache<String, Arc<Page>>,
    bytes: usize,
    budget: usize,
}

/// One rendered answer and when it was made.
struct Page {
    generation: u64,
    made: Instant,
    content_type: HeaderValue,
    etag: HeaderValue,
    cache_control: HeaderValue,
    body: Bytes,
}

impl PublicPages {
    pub fn new(publications: Arc<Publications>) -> Arc<Self> {
        Arc::new(Self {
            publications,
            pages: Mutex::new(Kept::new(BUDGET)),
        })
    }

    fn pages(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.pages.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Kept {
    fn new(budget: usize) -> Self {
        Self {
            pages: LruCache::unbounded(),
            bytes: 0,
            budget,
        }
    }

    /// The answer kept for `address`, if it is still the current one at `now`; a stale one is dropped.
    fn fresh(&mut self, address: &str, generation: u64, now: Instant) -> Option<Arc<Page>> {
        let page = self.pages.get(address)?;
        if page.generation == generation && now.duration_since(page.made) < KEEP_FOR {
            return Some(page.clone());
        }
        if let Some(old) = self.pages.pop(address) {
            self.bytes -= old.body.len();
        }
        None
    }

    /// Keeps `page`, then lets the least recently used go until the kept bytes fit the budget.
    fn keep(&mut self, address: String, page: Page) {
        self.bytes += page.body.len();
        if let Some(old) = self.pages.put(address, Arc::new(page)) {
            self.bytes -= old.body.len();
        }
        while self.bytes > self.budget {
            let Some((_, old)) = self.pages.pop_lru() else { break };
            self.bytes -= old.body.len();
        }
    }
}

/// The middleware on the public routes: the kept answer when there is a current one, else the handler's, kept.
pub async fn serve(State(cache): State<Arc<PublicPages>>, request: Request, next: Next) -> Response {
    if request.method() != Method::GET {
        return next.run(request).await;
    }
    let address = request.uri().to_string();
    // Read before rendering: a publication made while the page renders leaves it stale, never kept as current.
    let generation = cache.publications.generation();
    let kept = cache.pages().fresh(&address, generation, Instant::now());
    if let Some(page) = kept {
        return answer(request.headers(), &page);
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let small = body.size_hint().exact().is_some_and(|n| n <= LARGEST as u64);
    let header = |name| parts.headers.get(name).cloned();
    let (Some(content_type), Some(etag), Some(cache_control)) = (
        header(header::CONTENT_TYPE),
        header(header::ETAG),
        header(header::CACHE_CONTROL),
    ) else {
        return Response::from_parts(parts, body);
    };
    if !small {
        return Response::from_parts(parts, body);
    }
    let body = match axum::body::to_bytes(body, LARGEST).await {
        Ok(body) => body,
        Err(e) => {
            tracing::warn!(error = %e, %address, "a public answer could not be read whole");
            return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
        }
    };
    cache.pages().keep(
        address,
        Page {
            generation,
            made: Instant::now(),
            content_type,
            etag,
            cache_control,
            body: body.clone(),
        },
    );
    Response::from_parts(parts, Body::from(body))
}

/// A kept answer, or `304 Not Modified` when the client already holds the same bytes.
fn answer(request: &HeaderMap, page: &Page) -> Response {
    if super::etag_matches(request, &page.etag) {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, page.etag.clone()),
                (header::CACHE_CONTROL, page.cache_control.clone()),
            ],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, page.content_type.clone()),
            (header::ETAG, page.etag.clone()),
            (header::CACHE_CONTROL, page.cache_control.clone()),
        ],
        page.body.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(generation: u64, made: Instant, bytes: usize) -> Page {
        Page {
            generation,
            made,
            content_type: HeaderValue::from_static("text/html"),
            etag: HeaderValue::from_static("\"e\""),
            cache_control: HeaderValue::from_static("public, max-age=60"),
            body: Bytes::from(vec![b'x'; bytes]),
        }
    }

    #[test]
    fn a_kept_answer_is_served_until_a_publication_changes_or_it_ages() {
        let start = Instant::now();
        let mut kept = Kept::new(1000);
        kept.keep("/scores/33".into(), page(7, start, 10));
        assert!(kept.fresh("/scores/33", 7, start + Duration::from_secs(1)).is_some());
        assert!(kept.fresh("/scores/33?lang=en", 7, start).is_none(), "another address");
        // A publication, withdrawal or redaction since: gone at once, and its bytes with it.
        assert!(kept.fresh("/scores/33", 8, start).is_none());
        assert_eq!((kept.pages.len(), kept.bytes), (0, 0));
        kept.keep("/scores/33".into(), page(8, start, 10));
        assert!(kept.fresh("/scores/33", 8, start + KEEP_FOR).is_none(), "too old");
        assert_eq!(kept.bytes, 0);
    }

    #[test]
    fn the_least_recently_used_answers_leave_when_the_bytes_exceed_the_budget() {
        let now = Instant::now();
        let mut kept = Kept::new(100);
        for a in ["a", "b", "c"] {
            kept.keep(a.into(), page(0, now, 40));
        }
        // "a" was the least recently used and had to go for "c" to fit.
        assert!(kept.fresh("a", 0, now).is_none());
        assert!(kept.fresh("b", 0, now).is_some());
        kept.keep("d".into(), page(0, now, 40));
        assert!(kept.fresh("c", 0, now).is_none(), "b was read since, c not");
        assert!(kept.fresh("b", 0, now).is_some() && kept.fresh("d", 0, now).is_some());
        assert_eq!(kept.bytes, 80);
        // The same address again replaces its bytes, never counts them twice.
        kept.keep("d".into(), page(0, now, 20));
        assert_eq!(kept.bytes, 60);
    }
}
