//! The HTTP application: routes, the middleware around them, and a server that starts
//! without its database and shuts down gracefully.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{Instrument, Span};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;
use uuid::Uuid;

use crate::config::Settings;
use crate::crypto::keys::Keys;
use crate::db::connect_and_migrate;
use crate::error::{ApiError, PROBLEM_JSON};
use crate::lang::Lang;
use crate::openapi::ApiDoc;
use crate::state::{AppState, Clock, SystemClock};

pub const BODY_LIMIT: usize = 1024 * 1024;
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The routes and the OpenAPI document they generate.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::new()
        .merge(crate::auth::routes::router())
        .merge(crate::me::router())
        .merge(crate::notifications::router())
        .merge(crate::webhooks::routes::router())
        .merge(crate::users::router())
        .merge(crate::places::router())
        .merge(crate::categories::router())
        .merge(crate::partners::router())
        .merge(crate::partner_members::router())
        .merge(crate::invitations::router())
        .merge(crate::volunteers::router())
        .merge(crate::contracts::routes::router())
        .merge(crate::eligibility::router())
        .merge(crate::orders::router())
        .merge(crate::exports::router())
        .merge(crate::ratings::router())
        .merge(crate::hours::router())
        .merge(crate::performance::router())
        .merge(crate::privacy::router())
        .merge(crate::stats::router())
        .merge(crate::audit::routes::router());
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest("/api/v1", v1)
        .merge(crate::ops::router())
        .split_for_parts();
    crate::openapi::finish(&mut doc);
    (router, doc)
}

/// The whole application with its middleware, ready to serve: the API, its document, and
/// the web front at `/` (which calls the API in-process). `extra` routes get the same
/// middleware; tests and benchmarks use them for routes that production does not have.
/// `bare` routes get none (the benchmark's ceiling of the HTTP stack).
pub fn app(state: AppState, extra: Router<AppState>, bare: Router) -> Router {
    let (router, doc) = routes();
    let router = router
        .merge(extra)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", doc))
        .fallback(|| async { ApiError::NotFound })
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    let api = stack(router, &state).with_state(state.clone()).merge(bare);
    let web = stack(crate::web::router(state.clone(), api.clone()), &state);
    api.merge(web)
}

/// The middleware every request passes: one layer, [`around`]. Each layer a router is given
/// wraps every route's service once more, and every request then clones the whole nest and
/// allocates a future per level: with tower-http's request-id, trace and panic layers and an
/// `Extension` layer, `/healthz` took 31 % more server CPU per answer than with this one
/// alone (docs/BENCHMARKS.md, "The request path: one middleware layer").
fn stack<S: Clone + Send + Sync + 'static>(router: Router<S>, state: &AppState) -> Router<S> {
    let around_state = Around { state: state.clone(), ids: RequestIds::new() };
    router.layer(middleware::from_fn_with_state(around_state, around))
}

/// What [`around`] needs: the application, and where request ids come from.
#[derive(Clone)]
struct Around {
    state: AppState,
    ids: RequestIds,
}

/// What every request goes through, in one layer: its request id (the client's
/// `x-request-id`, or one made here), answered back; its span (id, method, route template)
/// around the handler, and its one access-log line; the request's language kept for every
/// text it answers with; the time limit (503); a handler's panic as a 500; the router's own
/// bare error answers as problem+json; and the metrics by route template, of the answer as
/// sent.
async fn around(State(Around { state, ids }): State<Around>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = match req.headers().get(REQUEST_ID) {
        Some(given) => given.clone(),
        None => ids.next(),
    };
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let span = request_span(&request_id, &method, route.as_ref());
    let limit = Duration::from_secs(state.settings.request_timeout_secs);
    let lang = Lang::from_headers(req.headers());
    let answered = lang.scope(async move {
        let handled = AssertUnwindSafe(next.run(req)).catch_unwind();
        let response = match tokio::time::timeout(limit, handled).await {
            Ok(Ok(response)) => response,
            Ok(Err(_)) => {
                tracing::error!("handler panicked");
                ApiError::Internal("panic".into()).into_response()
            }
            Err(_) => ApiError::Unavailable.into_response(),
        };
        as_problem(response)
    });
    let mut response = answered.instrument(span.clone()).await;
    let elapsed = started.elapsed();
    span.in_scope(|| access_log(response.status(), elapsed));
    response.headers_mut().entry(REQUEST_ID).or_insert(request_id);
    state.metrics.observe(&method, route.as_ref(), response.status().as_u16(), elapsed);
    response
}

/// The router's own bare error answers (405, a rejected body) as problem+json; a page's
/// own answers (HTML) stay as they are.
fn as_problem(response: Response) -> Response {
    let status = response.status();
    let said = |kind: &str| {
        response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(kind.as_bytes()))
    };
    if !status.is_client_error() && !status.is_server_error() || said(PROBLEM_JSON) || said("text/html") {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => {
            let error = ApiError::MethodNotAllowed(crate::error::t(
                "此路径不支持该方法，可用方法见 Allow",
                "this route does not answer that method; see Allow",
            ));
            let mut out = crate::error::problem_response(&error.problem());
            if let Some(allow) = response.headers().get(header::ALLOW) {
                out.headers_mut().insert(header::ALLOW, allow.clone());
            }
            return out;
        }
        s if s.is_server_error() => ApiError::Internal(format!("bare {s} answer")),
        _ => ApiError::bad_request(crate::error::t("无法处理该请求", "the request could not be processed")),
    };
    error.into_response()
}

/// Request ids for requests that come without one: this instance's random prefix and a
/// counter, as a UUID (version 8) — unique across instances, with no system call per request.
#[derive(Clone)]
struct RequestIds {
    prefix: u64,
    next: Arc<AtomicU64>,
}

impl RequestIds {
    fn new() -> Self {
        Self { prefix: Uuid::now_v7().as_u64_pair().1, next: Arc::new(AtomicU64::new(0)) }
    }

    fn next(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let bytes = ((u128::from(self.prefix) << 64) | u128::from(n)).to_be_bytes();
        let id = uuid::Builder::from_custom_bytes(bytes).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)).expect("a hyphenated UUID is a header value")
    }
}

/// Every request's span: its id, method and route template. The template, never the path
/// or the query string, which may carry personal data.
fn request_span(request_id: &HeaderValue, method: &Method, route: Option<&MatchedPath>) -> Span {
    let request_id = request_id.to_str().unwrap_or("");
    let route = route.map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", request_id = %request_id, method = %method, route = %route, user_id = tracing::field::Empty)
}

/// The access log: one line at INFO per answered request, in its span (request id, method,
/// route), with the status and the time taken.
fn access_log(status: StatusCode, latency: Duration) {
    tracing::info!(status = status.as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "answered");
}

/// A running server: its address, and the handle to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: watch::Sender<bool>,
    serving: JoinHandle<std::io::Result<()>>,
    database: JoinHandle<()>,
    /// The live streams' look at the log.
    log_watch: JoinHandle<()>,
    /// The worker and the webhook deliveries, when this instance runs them.
    worker: Option<(JoinHandle<()>, JoinHandle<()>)>,
}

impl RunningServer {
    /// Binds, then serves at once; the database is connected in the background.
    pub async fn start(settings: Settings) -> std::io::Result<Self> {
        Self::start_with_clock(settings, Arc::new(SystemClock)).await
    }

    pub async fn start_with_clock(settings: Settings, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        Self::start_with(settings, clock, Router::new()).await
    }

    /// Starts with a clock of the caller's and extra routes (for tests and benchmarks).
    pub async fn start_with(
        settings: Settings,
        clock: Arc<dyn Clock>,
        extra: Router<AppState>,
    ) -> std::io::Result<Self> {
        Self::start_with_bare(settings, clock, extra, Router::new()).await
    }

    /// As [`Self::start_with`], with routes outside the middleware besides (benchmarks).
    pub async fn start_with_bare(
        settings: Settings,
        clock: Arc<dyn Clock>,
        extra: Router<AppState>,
        bare: Router,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(settings.bind).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(settings, clock);
        let database = tokio::spawn(connect_until_ready(state.clone()));
        let log_watch = tokio::spawn(crate::orders::stream::watch_log(state.clone()));
        let worker = state.settings.worker.then(|| {
            let deliveries = tokio::spawn(crate::webhooks::deliver::run(state.clone()));
            (tokio::spawn(crate::worker::run(state.clone())), deliveries)
        });
        let (shutdown, mut stop) = watch::channel(false);
        let service = app(state.clone(), extra, bare).into_make_service_with_connect_info::<SocketAddr>();
        let serving = tokio::spawn(async move {
            axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|stop| *stop).await;
                })
                .await
        });
        Ok(Self { addr, state, shutdown, serving, database, log_watch, worker })
    }

    /// Stops accepting, lets in-flight requests finish within the grace period, empties
    /// SQLite's write-ahead log into the database file, returns.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.database.abort();
        self.log_watch.abort();
        if let Some((worker, deliveries)) = &self.worker {
            worker.abort();
            deliveries.abort();
        }
        let grace = Duration::from_secs(self.state.settings.shutdown_grace_secs);
        let mut serving = self.serving;
        if tokio::time::timeout(grace, &mut serving).await.is_err() {
            tracing::warn!("in-flight requests did not finish within the grace period");
            serving.abort();
        }
        if let Ok(db) = self.state.db()
            && let Err(err) = crate::db::checkpoint_to_zero(db).await
        {
            tracing::warn!(error = %err, "the write-ahead log was not emptied at shutdown");
        }
    }
}

/// Keeps trying to reach and migrate the database until it works; until then the service
/// answers 503 (except `/healthz`).
async fn connect_until_ready(state: AppState) {
    let retry = Duration::from_millis(state.settings.db_retry_interval_ms.max(50));
    loop {
        let attempt = async {
            let db = connect_and_migrate(&state.settings).await?;
            let keys = Keys::load(&db, &state.settings).await?;
            Ok::<_, sea_orm::DbErr>((db, keys))
        };
        match attempt.await {
            Ok((db, keys)) => {
                state.set_ready(db, keys);
                tracing::info!("database ready");
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "database not ready; retrying");
                tokio::time::sleep(retry).await;
            }
        }
    }
}
